#!/usr/bin/env python3
"""A fake Agent Client Protocol (ACP) agent for Ambidex's tests.

Ambidex drives other coding agents as workers through ACP: it spawns the agent
program, speaks JSON-RPC 2.0 to it over stdio (one JSON object per line), sends
`initialize`, `session/new` and one `session/prompt`, streams the agent's
`session/update` notifications and answers its `session/request_permission`
and `fs/*` requests. This script plays the agent's side of that exchange
without any model, so tests can check Ambidex's client end to end. It uses the
standard library only: run it as `python3 acp_agent.py`.

The wire format follows ACP protocol version 1 as serialized by the Rust crate
`agent-client-protocol` 5.x (camelCase fields, `sessionUpdate` /
`outcome` tags with snake_case values).

What it does on `session/prompt`:

1. an `agent_message_chunk`: "Reading the task: <first 80 characters of the
   prompt text>";
2. a `tool_call` (kind "edit", status "pending", title "Write FILE");
3. a `session/request_permission` request for that tool call with the options
   `allow` (kind allow_once) and `reject` (kind reject_once);
4. if an allow option was selected: writes the file itself, relative to the
   session's cwd (or through the client's `fs/write_text_file` with an
   absolute path when ACP_FAKE_USE_FS=1), then a `tool_call_update` with
   status "completed" (or "failed" and a message chunk if the write failed);
   if rejected or cancelled: a `tool_call_update` with status "failed" and a
   message chunk saying the write was refused;
5. with ACP_FAKE_ESCAPE=1, a direct write outside the cwd (errors ignored)
   and a message chunk starting "Escape write succeeded" or
   "Escape write failed";
6. the `session/prompt` response with stopReason "end_turn".

A `session/cancel` notification for the session while the turn runs (for
example while the permission request is pending) ends it at once: a
`tool_call_update` with status "failed" is sent and the prompt is answered
with stopReason "cancelled"; a late permission answer is ignored. The agent
exits with status 0 when its stdin reaches EOF.

Environment variables:

ACP_FAKE_FILE         file to write, relative to the session cwd
                      (default "src/acp_change.txt")
ACP_FAKE_CONTENT      its content (default "made by the fake ACP agent\\n")
ACP_FAKE_USE_FS=1     write through the client's fs/write_text_file instead
ACP_FAKE_ESCAPE=1     also try to write ACP_FAKE_ESCAPE_PATH directly
ACP_FAKE_ESCAPE_PATH  the escape target; relative paths are taken from the
                      session cwd (default "../acp_escape.txt")
ACP_FAKE_LOG=path     append every message to that file, one JSON object per
                      line: {"dir": "in"|"out", "msg": <the JSON-RPC message>}
ACP_FAKE_CRASH=1      exit with status 3 right after the session/new reply
ACP_FAKE_HANG=1       never answer session/new (an agent stuck in its setup)
ACP_FAKE_RUN=cmd      before writing, ask permission to run the shell command
                      `cmd` (a tool call of kind "execute" whose rawInput is
                      {"command": cmd}); run it in the cwd when allowed, and
                      say "Ran: <output>" or "Not allowed to run: cmd"
ACP_FAKE_DELAY=secs   pause this long after the first message chunk (a
                      session/cancel cuts the pause short), to give tests
                      time to cancel or time out
"""

import itertools
import json
import os
import sys
import threading

PROTOCOL_VERSION = 1

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
RESOURCE_NOT_FOUND = -32002

ALLOW_OPTION = "allow"
REJECT_OPTION = "reject"


def env_flag(name):
    return os.environ.get(name, "") == "1"


class Cancelled(Exception):
    """The prompt turn was cancelled by `session/cancel`."""


class Disconnected(Exception):
    """The client went away (stdin EOF) while a request was pending."""


class PeerError(Exception):
    """The client answered one of our requests with a JSON-RPC error."""

    def __init__(self, error):
        super().__init__(error.get("message", "error"))
        self.error = error


class Transport:
    """Newline-delimited JSON-RPC over stdin/stdout, with an optional log."""

    def __init__(self):
        self._out = sys.stdout.buffer
        self._write_lock = threading.Lock()
        log_path = os.environ.get("ACP_FAKE_LOG")
        self._log = open(log_path, "a", encoding="utf-8") if log_path else None

    def log(self, direction, message):
        if self._log is None:
            return
        with self._write_lock:
            self._log.write(json.dumps({"dir": direction, "msg": message}) + "\n")
            self._log.flush()

    def send(self, message):
        message = {"jsonrpc": "2.0", **message}
        self.log("out", message)
        line = (json.dumps(message, ensure_ascii=False) + "\n").encode("utf-8")
        with self._write_lock:
            try:
                self._out.write(line)
                self._out.flush()
            except BrokenPipeError:
                os._exit(0)

    def lines(self):
        for raw in sys.stdin.buffer:
            raw = raw.strip()
            if raw:
                yield raw


class Session:
    def __init__(self, session_id, cwd):
        self.id = session_id
        self.cwd = cwd
        self.cancelled = threading.Event()
        self.prompt_running = False


class Agent:
    def __init__(self, transport):
        self.t = transport
        self.sessions = {}
        self.client_capabilities = {}
        self._ids = itertools.count(1)
        self._session_numbers = itertools.count(1)
        self._tool_numbers = itertools.count(1)
        self._pending = {}  # our request id -> [threading.Event, response or None]
        self._pending_lock = threading.Lock()
        self._closed = False

    # ----- plumbing -------------------------------------------------------

    def reply(self, request_id, result):
        self.t.send({"id": request_id, "result": result})

    def reply_error(self, request_id, code, message, data=None):
        error = {"code": code, "message": message}
        if data is not None:
            error["data"] = data
        self.t.send({"id": request_id, "error": error})

    def notify(self, method, params):
        self.t.send({"method": method, "params": params})

    def update(self, session, update):
        self.notify("session/update", {"sessionId": session.id, "update": update})

    def say(self, session, text):
        self.update(
            session,
            {
                "sessionUpdate": "agent_message_chunk",
                "content": {"type": "text", "text": text},
            },
        )

    def request(self, method, params, session=None):
        """Send a request to the client and wait for its answer.

        Raises Cancelled if the session is cancelled first, Disconnected on
        stdin EOF and PeerError if the client answers with an error.
        """
        request_id = next(self._ids)
        slot = [threading.Event(), None]
        with self._pending_lock:
            if self._closed:
                raise Disconnected()
            self._pending[request_id] = slot
        self.t.send({"id": request_id, "method": method, "params": params})
        while not slot[0].wait(0.05):
            if session is not None and session.cancelled.is_set():
                with self._pending_lock:
                    self._pending.pop(request_id, None)
                raise Cancelled()
        response = slot[1]
        if response is None:
            raise Disconnected()
        if "error" in response:
            raise PeerError(response["error"])
        return response.get("result")

    def resolve(self, message):
        with self._pending_lock:
            slot = self._pending.pop(message.get("id"), None)
        if slot is not None:
            slot[1] = message
            slot[0].set()

    def close(self):
        with self._pending_lock:
            self._closed = True
            pending, self._pending = self._pending, {}
        for slot in pending.values():
            slot[0].set()

    # ----- main loop ------------------------------------------------------

    def run(self):
        for raw in self.t.lines():
            try:
                message = json.loads(raw)
            except ValueError:
                self.t.log("in", {"unparsable": raw.decode("utf-8", "replace")})
                self.reply_error(None, PARSE_ERROR, "Parse error")
                continue
            self.t.log("in", message)
            if not isinstance(message, dict):
                self.reply_error(None, INVALID_REQUEST, "Invalid request")
                continue
            method = message.get("method")
            if method is None:
                self.resolve(message)
            elif "id" in message:
                self.handle_request(message["id"], method, message.get("params") or {})
            else:
                self.handle_notification(method, message.get("params") or {})
        self.close()

    def handle_notification(self, method, params):
        if method == "session/cancel":
            session = self.sessions.get(params.get("sessionId"))
            if session is not None:
                session.cancelled.set()
        # Everything else ($/cancel_request, extensions) is ignored, as ACP asks.

    def handle_request(self, request_id, method, params):
        if method == "initialize":
            self.client_capabilities = params.get("clientCapabilities") or {}
            requested = params.get("protocolVersion", PROTOCOL_VERSION)
            # Answer with the client's version when it is older than ours, else with ours.
            version = PROTOCOL_VERSION
            if isinstance(requested, int) and requested < PROTOCOL_VERSION:
                version = requested
            self.reply(
                request_id,
                {
                    "protocolVersion": version,
                    "agentCapabilities": {
                        "loadSession": False,
                        "promptCapabilities": {"image": False, "audio": False, "embeddedContext": False},
                    },
                    "authMethods": [],
                    "agentInfo": {"name": "ambidex-fake-acp-agent", "version": "0.1.0"},
                },
            )
        elif method == "session/new":
            if env_flag("ACP_FAKE_HANG"):
                return
            cwd = params.get("cwd")
            if not isinstance(cwd, str) or not os.path.isabs(cwd):
                self.reply_error(request_id, INVALID_PARAMS, "Invalid params", "cwd must be an absolute path")
                return
            session = Session("fake-session-%d" % next(self._session_numbers), cwd)
            self.sessions[session.id] = session
            self.reply(request_id, {"sessionId": session.id})
            if env_flag("ACP_FAKE_CRASH"):
                sys.stdout.flush()
                os._exit(3)
        elif method == "session/prompt":
            session = self.sessions.get(params.get("sessionId"))
            if session is None:
                data = {"sessionId": params.get("sessionId")}
                self.reply_error(request_id, RESOURCE_NOT_FOUND, "Resource not found", data)
                return
            if session.prompt_running:
                data = "a prompt turn is already running"
                self.reply_error(request_id, INVALID_REQUEST, "Invalid request", data)
                return
            session.prompt_running = True
            session.cancelled.clear()
            worker = threading.Thread(
                target=self.prompt_turn, args=(request_id, session, params.get("prompt") or []), daemon=True
            )
            worker.start()
        else:
            self.reply_error(request_id, METHOD_NOT_FOUND, "Method not found", {"method": method})

    # ----- the prompt turn ------------------------------------------------

    def prompt_turn(self, request_id, session, prompt):
        tool_call_id = "call_%d" % next(self._tool_numbers)
        try:
            stop_reason = self.work(session, prompt, tool_call_id)
        except Cancelled:
            self.update(
                session,
                {"sessionUpdate": "tool_call_update", "toolCallId": tool_call_id, "status": "failed"},
            )
            stop_reason = "cancelled"
        except Disconnected:
            return
        except Exception as error:  # a bug in this script: report it rather than hang the client
            session.prompt_running = False
            self.reply_error(request_id, INTERNAL_ERROR, "Internal error", repr(error))
            return
        session.prompt_running = False
        self.reply(request_id, {"stopReason": stop_reason})

    def work(self, session, prompt, tool_call_id):
        texts = [b.get("text", "") for b in prompt if isinstance(b, dict) and b.get("type") == "text"]
        text = " ".join(texts)
        self.say(session, "Reading the task: " + text[:80])

        delay = float(os.environ.get("ACP_FAKE_DELAY", "0") or 0)
        if delay > 0 and session.cancelled.wait(delay):
            raise Cancelled()
        if session.cancelled.is_set():
            raise Cancelled()

        command = os.environ.get("ACP_FAKE_RUN")
        if command:
            self.run_command(session, command, tool_call_id + "_run")

        relative = os.environ.get("ACP_FAKE_FILE", "src/acp_change.txt")
        content = os.environ.get("ACP_FAKE_CONTENT", "made by the fake ACP agent\n")
        target = os.path.normpath(os.path.join(session.cwd, relative))
        title = "Write " + relative
        self.update(
            session,
            {
                "sessionUpdate": "tool_call",
                "toolCallId": tool_call_id,
                "title": title,
                "kind": "edit",
                "status": "pending",
                "locations": [{"path": target}],
                "rawInput": {"path": target, "content": content},
            },
        )

        outcome = self.request(
            "session/request_permission",
            {
                "sessionId": session.id,
                "toolCall": {"toolCallId": tool_call_id, "title": title, "kind": "edit", "status": "pending"},
                "options": [
                    {"optionId": ALLOW_OPTION, "name": "Allow", "kind": "allow_once"},
                    {"optionId": REJECT_OPTION, "name": "Reject", "kind": "reject_once"},
                ],
            },
            session,
        )
        outcome = (outcome or {}).get("outcome") or {}
        if session.cancelled.is_set():
            raise Cancelled()

        if outcome.get("outcome") == "selected" and outcome.get("optionId") == ALLOW_OPTION:
            self.update(
                session,
                {"sessionUpdate": "tool_call_update", "toolCallId": tool_call_id, "status": "in_progress"},
            )
            error = self.write(session, target, content)
            if error is None:
                self.update(
                    session,
                    {
                        "sessionUpdate": "tool_call_update",
                        "toolCallId": tool_call_id,
                        "status": "completed",
                        "content": [{"type": "diff", "path": target, "newText": content}],
                    },
                )
                self.say(session, "Wrote " + relative)
            else:
                self.update(
                    session,
                    {"sessionUpdate": "tool_call_update", "toolCallId": tool_call_id, "status": "failed"},
                )
                self.say(session, "Could not write %s: %s" % (relative, error))
        else:
            self.update(
                session,
                {"sessionUpdate": "tool_call_update", "toolCallId": tool_call_id, "status": "failed"},
            )
            self.say(session, "Permission to write %s was refused" % relative)

        if env_flag("ACP_FAKE_ESCAPE"):
            self.escape(session)
        return "end_turn"

    def run_command(self, session, command, tool_call_id):
        call = {"toolCallId": tool_call_id, "title": "Run " + command, "kind": "execute", "status": "pending",
                "rawInput": {"command": command}}
        self.update(session, dict(call, sessionUpdate="tool_call"))
        options = [
            {"optionId": ALLOW_OPTION, "name": "Allow", "kind": "allow_once"},
            {"optionId": REJECT_OPTION, "name": "Reject", "kind": "reject_once"},
        ]
        outcome = self.request(
            "session/request_permission", {"sessionId": session.id, "toolCall": call, "options": options}, session
        )
        outcome = (outcome or {}).get("outcome") or {}
        if session.cancelled.is_set():
            raise Cancelled()
        if outcome.get("outcome") == "selected" and outcome.get("optionId") == ALLOW_OPTION:
            import subprocess

            done = subprocess.run(command, shell=True, cwd=session.cwd, capture_output=True, text=True)
            output = (done.stdout + done.stderr).strip()
            status = "completed" if done.returncode == 0 else "failed"
            self.update(
                session,
                {
                    "sessionUpdate": "tool_call_update",
                    "toolCallId": tool_call_id,
                    "status": status,
                    "content": [{"type": "content", "content": {"type": "text", "text": output}}],
                },
            )
            self.say(session, "Ran: " + output)
        else:
            self.update(session, {"sessionUpdate": "tool_call_update", "toolCallId": tool_call_id, "status": "failed"})
            self.say(session, "Not allowed to run: " + command)

    def write(self, session, target, content):
        """Write the file; returns None on success or an error description."""
        if env_flag("ACP_FAKE_USE_FS"):
            try:
                params = {"sessionId": session.id, "path": target, "content": content}
                self.request("fs/write_text_file", params, session)
            except PeerError as error:
                return "client error %s: %s" % (error.error.get("code"), error.error.get("message"))
            return None
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w", encoding="utf-8") as file:
                file.write(content)
        except OSError as error:
            return str(error)
        return None

    def escape(self, session):
        path = os.path.join(session.cwd, os.environ.get("ACP_FAKE_ESCAPE_PATH", "../acp_escape.txt"))
        path = os.path.normpath(path)
        try:
            with open(path, "w", encoding="utf-8") as file:
                file.write("escaped from the worktree\n")
        except OSError as error:
            self.say(session, "Escape write failed: %s: %s" % (path, error))
        else:
            self.say(session, "Escape write succeeded: " + path)


def main():
    Agent(Transport()).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
