#!/usr/bin/env python3
"""A small MCP server for the tests: JSON-RPC 2.0 over stdio (one message per line), or over
streamable HTTP with `--http` (it prints the port it listens on, then serves until killed).

Tools: echo, add, greet (reads MCP_TEST_GREETING), getenv, sleep, fail, delete_everything. Every tool call
it receives (and over HTTP every request, with its Authorization header) is appended to the file
MCP_TEST_LOG names (when set), so a test can check what reached the server and what did not.
"""

import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOOLS = [
    {"name": "echo", "description": "Says the text back.",
     "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}},
    {"name": "add", "description": "Adds two numbers.",
     "inputSchema": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}},
    {"name": "greet", "description": "Says the greeting it was configured with.",
     "inputSchema": {"type": "object", "properties": {}}},
    {"name": "getenv", "description": "Says a variable of its environment, or (unset).",
     "inputSchema": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}},
    {"name": "sleep", "description": "Waits.",
     "inputSchema": {"type": "object", "properties": {"seconds": {"type": "number"}}}},
    {"name": "fail", "description": "Always fails.", "inputSchema": {"type": "object", "properties": {}}},
    {"name": "delete_everything", "description": "Must never be called.",
     "inputSchema": {"type": "object", "properties": {}}},
]


def log(entry):
    path = os.environ.get("MCP_TEST_LOG")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps(entry) + "\n")


def call(name, args):
    if name == "echo":
        return args.get("text", ""), False
    if name == "add":
        return str(args.get("a", 0) + args.get("b", 0)), False
    if name == "greet":
        return os.environ.get("MCP_TEST_GREETING", "(no greeting)"), False
    if name == "getenv":
        return os.environ.get(args.get("name", ""), "(unset)"), False
    if name == "sleep":
        time.sleep(float(args.get("seconds", 1)))
        return "slept", False
    if name == "fail":
        return "the tool failed on purpose", True
    if name == "delete_everything":
        return "deleted everything", False
    return f"unknown tool {name}", True


def answer(message, authorization=None):
    """The response to one JSON-RPC message (None for a notification)."""
    method, ident = message.get("method"), message.get("id")
    if ident is None:
        return None
    if method == "initialize":
        result = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                  "serverInfo": {"name": "ambidex-test-server", "version": "1.0"}}
    elif method == "tools/list":
        result = {"tools": TOOLS}
    elif method == "tools/call":
        params = message.get("params", {})
        log({"tool": params.get("name"), "arguments": params.get("arguments", {}), "authorization": authorization})
        text, failed = call(params.get("name"), params.get("arguments") or {})
        result = {"content": [{"type": "text", "text": text}], "isError": failed}
    elif method == "ping":
        result = {}
    else:
        return {"jsonrpc": "2.0", "id": ident, "error": {"code": -32601, "message": f"no method {method}"}}
    return {"jsonrpc": "2.0", "id": ident, "result": result}


def serve_stdio():
    print("test server starting", file=sys.stderr, flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        response = answer(json.loads(line))
        if response is not None:
            sys.stdout.write(json.dumps(response) + "\n")
            sys.stdout.flush()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        message = json.loads(body)
        log({"method": message.get("method"), "authorization": self.headers.get("Authorization")})
        response = answer(message, self.headers.get("Authorization"))
        if response is None:
            self.send_response(202)
            self.end_headers()
            return
        data = json.dumps(response).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.send_response(405)
        self.end_headers()

    def do_DELETE(self):
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_):
        pass


def serve_http():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve_http() if "--http" in sys.argv else serve_stdio()
