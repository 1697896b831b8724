//! A fake S3-compatible object store on 127.0.0.1, on its own thread (so both async tests and tests
//! that run the binary can use it), for the `object_store` crate's `AmazonS3` client with path-style
//! requests (`{endpoint}/{bucket}/{key}`). It keeps one bucket in memory and answers what that client
//! sends and parses: PUT (with `If-None-Match: *` and `If-Match`), GET (with `Range` and the
//! conditional headers), HEAD, DELETE, the bulk `POST ?delete`, ListObjectsV2, copies and multipart
//! uploads, with S3's XML error bodies. A request whose `Authorization` does not name the expected
//! access key gets a 403 `AccessDenied` (signatures are not checked); `set_down(true)` answers every
//! request 503 to simulate an outage. Every request is recorded.
//!
//! `object_store` retries 5xx answers (10 times, with backoff, by default): a test of an outage
//! should give its client a small `RetryConfig`.
#![allow(dead_code)]

#[path = "loopback.rs"]
mod loopback;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use loopback::{Loopback, header_texts};
use sha2::{Digest, Sha256};

/// One recorded request.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    pub method: String,
    /// The path as sent (still percent-encoded), without the query.
    pub path: String,
    pub query: String,
    pub headers: BTreeMap<String, String>,
}

impl SeenRequest {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or_default()
    }
}

/// One stored object.
#[derive(Debug, Clone)]
struct Object {
    bytes: Vec<u8>,
    /// Quoted, as S3 sends it.
    etag: String,
    /// Whole seconds: S3's `Last-Modified` has no fraction, and the listing then agrees with it.
    modified: jiff::Timestamp,
    content_type: Option<String>,
}

struct Upload {
    key: String,
    parts: BTreeMap<u32, Vec<u8>>,
    content_type: Option<String>,
}

struct Inner {
    bucket: String,
    access_key: String,
    down: bool,
    objects: BTreeMap<String, Object>,
    uploads: HashMap<String, Upload>,
    next_id: u64,
    seen: Vec<SeenRequest>,
}

/// The server; it stops when dropped.
pub struct FakeS3 {
    base: String,
    inner: Arc<Mutex<Inner>>,
    _server: Loopback,
}

impl FakeS3 {
    /// Starts a server holding the empty bucket `bucket`, that accepts requests signed with
    /// `access_key` (any secret).
    pub fn start(bucket: &str, access_key: &str) -> FakeS3 {
        let inner = Arc::new(Mutex::new(Inner {
            bucket: bucket.to_owned(),
            access_key: access_key.to_owned(),
            down: false,
            objects: BTreeMap::new(),
            uploads: HashMap::new(),
            next_id: 0,
            seen: Vec::new(),
        }));
        let app = Router::new().fallback(handle).layer(DefaultBodyLimit::disable()).with_state(inner.clone());
        let server = Loopback::serve(app);
        FakeS3 { base: server.base.clone(), inner, _server: server }
    }

    /// `http://127.0.0.1:PORT`, for `AmazonS3Builder::with_endpoint`.
    pub fn endpoint(&self) -> String {
        self.base.clone()
    }

    /// The stored objects: key → bytes.
    pub fn objects(&self) -> BTreeMap<String, Vec<u8>> {
        self.inner.lock().unwrap().objects.iter().map(|(k, o)| (k.clone(), o.bytes.clone())).collect()
    }

    /// One object's bytes, if stored.
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        self.inner.lock().unwrap().objects.get(key).map(|o| o.bytes.clone())
    }

    /// One object's ETag (quoted, as S3 sends it), if stored.
    pub fn etag(&self, key: &str) -> Option<String> {
        self.inner.lock().unwrap().objects.get(key).map(|o| o.etag.clone())
    }

    /// Stores `bytes` at `key` as a PUT would (a new ETag and modification time).
    pub fn put_object(&self, key: &str, bytes: &[u8]) {
        let object = new_object(bytes.to_vec(), None);
        self.inner.lock().unwrap().objects.insert(key.to_owned(), object);
    }

    /// Overwrites the stored bytes of an existing object behind the API's back: its ETag and
    /// `Last-Modified` stay as they were (as with bit rot, or a tamperer with access to the disks),
    /// only its size follows the new bytes. Panics when `key` is not stored.
    pub fn corrupt(&self, key: &str, bytes: &[u8]) {
        let mut inner = self.inner.lock().unwrap();
        let stored: Vec<&String> = inner.objects.keys().collect();
        let message = format!("fake S3: no object {key:?} to corrupt (stored: {stored:?})");
        let object = inner.objects.get_mut(key).expect(&message);
        object.bytes = bytes.to_vec();
    }

    /// Removes an object behind the API's back.
    pub fn remove(&self, key: &str) {
        self.inner.lock().unwrap().objects.remove(key);
    }

    /// While `down`, every request is answered 503 `ServiceUnavailable` (and still recorded).
    pub fn set_down(&self, down: bool) {
        self.inner.lock().unwrap().down = down;
    }

    /// Every request so far, as (method, path): the path as sent, without the query.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.inner.lock().unwrap().seen.iter().map(|s| (s.method.clone(), s.path.clone())).collect()
    }

    /// Every request so far, with its query and headers.
    pub fn seen(&self) -> Vec<SeenRequest> {
        self.inner.lock().unwrap().seen.clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.inner.lock().unwrap().seen.clear();
    }
}

fn new_object(bytes: Vec<u8>, content_type: Option<String>) -> Object {
    let etag = format!("\"{}\"", &hex(&Sha256::digest(&bytes))[..32]);
    Object { bytes, etag, modified: now(), content_type }
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn http_date(ts: jiff::Timestamp) -> String {
    jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&ts).unwrap()
}

fn iso_date(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S.000Z").to_string()
}

fn parse_http_date(value: &str) -> Option<jiff::Timestamp> {
    jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(value).ok()
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

fn xml_unescape(text: &str) -> String {
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

/// The texts of every `<tag>…</tag>` in `xml`, unescaped (enough for the request bodies
/// `object_store` writes: `Delete` and `CompleteMultipartUpload`).
fn tag_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut values = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        rest = &rest[start + open.len()..];
        let Some(end) = rest.find(&close) else { break };
        values.push(xml_unescape(&rest[..end]));
        rest = &rest[end + close.len()..];
    }
    values
}

fn percent_decode(text: &str) -> String {
    let hex_digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex_digit(bytes[i + 1]), hex_digit(bytes[i + 2]))
        {
            out.push(high << 4 | low);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether an `If-Match` / `If-None-Match` value names `etag` (or is `*`).
fn etag_matches(header: &str, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").trim_matches('"').to_owned();
    header.split(',').any(|t| t.trim() == "*" || bare(t) == bare(etag))
}

const XML_DECL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;
const XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

fn xml(status: StatusCode, body: String) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .header("x-amz-request-id", "FAKES3REQUEST")
        .body(Body::from(format!("{XML_DECL}{body}")))
        .unwrap()
}

/// S3's error answer: `<Error><Code>…</Code><Message>…</Message>…</Error>`.
fn error(status: u16, code: &str, message: &str, resource: &str) -> Response {
    xml(
        StatusCode::from_u16(status).unwrap(),
        format!(
            "<Error><Code>{code}</Code><Message>{}</Message><Resource>{}</Resource><RequestId>FAKES3REQUEST</RequestId></Error>",
            xml_escape(message),
            xml_escape(resource)
        ),
    )
}

fn no_such_key(key: &str) -> Response {
    error(404, "NoSuchKey", "The specified key does not exist.", key)
}

fn precondition_failed(key: &str) -> Response {
    error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", key)
}

fn not_implemented(method: &Method, path: &str) -> Response {
    error(501, "NotImplemented", &format!("The fake S3 does not implement {method} {path} with this query"), path)
}

fn empty(status: StatusCode) -> Response {
    Response::builder().status(status).header("x-amz-request-id", "FAKES3REQUEST").body(Body::empty()).unwrap()
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seen = SeenRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        headers: header_texts(&headers),
    };
    let query: BTreeMap<String, String> =
        Query::<Vec<(String, String)>>::try_from_uri(&uri).map(|q| q.0.into_iter().collect()).unwrap_or_default();
    let mut inner = inner.lock().unwrap();
    inner.seen.push(seen.clone());
    let path = seen.path.as_str();

    if inner.down {
        return error(503, "ServiceUnavailable", "Please reduce your request rate. (The fake S3 is down.)", path);
    }
    let credential = format!("AWS4-HMAC-SHA256 Credential={}/", inner.access_key);
    if !seen.header("authorization").starts_with(&credential) {
        return error(403, "AccessDenied", "Access Denied", path);
    }

    let trimmed = path.trim_start_matches('/');
    let (bucket, raw_key) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    if bucket.is_empty() {
        return not_implemented(&method, path);
    }
    if percent_decode(bucket) != inner.bucket {
        return error(404, "NoSuchBucket", "The specified bucket does not exist", path);
    }
    let key = percent_decode(raw_key);
    let header = |name: &str| seen.header(name).to_owned();

    if key.is_empty() {
        return match method {
            Method::GET if query.get("list-type").map(String::as_str) == Some("2") => list(&inner, &query),
            Method::POST if query.contains_key("delete") => bulk_delete(&mut inner, &body),
            Method::HEAD => empty(StatusCode::OK),
            _ => not_implemented(&method, path),
        };
    }

    match method {
        Method::PUT if query.contains_key("partNumber") && query.contains_key("uploadId") => {
            if !header("x-amz-copy-source").is_empty() {
                return not_implemented(&method, path);
            }
            let Some(upload) = inner.uploads.get_mut(&query["uploadId"]) else {
                return error(404, "NoSuchUpload", "The specified upload does not exist.", path);
            };
            let Ok(number) = query["partNumber"].parse::<u32>() else {
                return error(400, "InvalidArgument", "Part number must be an integer", path);
            };
            upload.parts.insert(number, body.to_vec());
            let etag = format!("\"{}\"", &hex(&Sha256::digest(&body))[..32]);
            Response::builder()
                .status(StatusCode::OK)
                .header("etag", etag)
                .header("x-amz-request-id", "FAKES3REQUEST")
                .body(Body::empty())
                .unwrap()
        }
        Method::PUT if !query.is_empty() => not_implemented(&method, path),
        Method::PUT => {
            if let Some(refusal) = write_preconditions(&inner, &key, &seen) {
                return refusal;
            }
            let copy_source = header("x-amz-copy-source");
            let content_type = Some(header("content-type")).filter(|t| !t.is_empty());
            if copy_source.is_empty() {
                let object = new_object(body.to_vec(), content_type);
                let etag = object.etag.clone();
                inner.objects.insert(key, object);
                return Response::builder()
                    .status(StatusCode::OK)
                    .header("etag", etag)
                    .header("x-amz-request-id", "FAKES3REQUEST")
                    .body(Body::empty())
                    .unwrap();
            }
            // `bucket/key`, percent-encoded, maybe with a leading slash.
            let source = percent_decode(copy_source.trim_start_matches('/'));
            let Some(source_key) = source.strip_prefix(&format!("{}/", inner.bucket)) else {
                return error(404, "NoSuchBucket", "The specified bucket does not exist", &copy_source);
            };
            let Some(from) = inner.objects.get(source_key).cloned() else {
                return no_such_key(source_key);
            };
            let object = Object { modified: now(), ..from };
            let answer = format!(
                "<CopyObjectResult><LastModified>{}</LastModified><ETag>{}</ETag></CopyObjectResult>",
                iso_date(object.modified),
                xml_escape(&object.etag)
            );
            inner.objects.insert(key, object);
            xml(StatusCode::OK, answer)
        }
        Method::GET | Method::HEAD if query.keys().any(|k| k != "versionId") => not_implemented(&method, path),
        Method::GET | Method::HEAD => {
            let Some(object) = inner.objects.get(&key) else {
                return if method == Method::HEAD { empty(StatusCode::NOT_FOUND) } else { no_such_key(&key) };
            };
            read(&method, &key, object, &seen)
        }
        Method::DELETE if query.contains_key("uploadId") => {
            inner.uploads.remove(&query["uploadId"]);
            empty(StatusCode::NO_CONTENT)
        }
        Method::DELETE if !query.is_empty() => not_implemented(&method, path),
        Method::DELETE => {
            inner.objects.remove(&key);
            empty(StatusCode::NO_CONTENT)
        }
        Method::POST if query.contains_key("uploads") => {
            inner.next_id += 1;
            let id = format!("fake-upload-{}", inner.next_id);
            let content_type = Some(header("content-type")).filter(|t| !t.is_empty());
            inner.uploads.insert(id.clone(), Upload { key: key.clone(), parts: BTreeMap::new(), content_type });
            xml(
                StatusCode::OK,
                format!(
                    "<InitiateMultipartUploadResult xmlns=\"{XMLNS}\"><Bucket>{}</Bucket><Key>{}</Key><UploadId>{id}</UploadId></InitiateMultipartUploadResult>",
                    xml_escape(&inner.bucket),
                    xml_escape(&key)
                ),
            )
        }
        Method::POST if query.contains_key("uploadId") => {
            if let Some(refusal) = write_preconditions(&inner, &key, &seen) {
                return refusal;
            }
            let id = &query["uploadId"];
            match inner.uploads.get(id) {
                Some(upload) if upload.key == key => {}
                _ => return error(404, "NoSuchUpload", "The specified upload does not exist.", path),
            }
            let upload = inner.uploads.remove(id).unwrap();
            let listed: Vec<u32> = tag_values(&String::from_utf8_lossy(&body), "PartNumber")
                .iter()
                .filter_map(|n| n.parse().ok())
                .collect();
            let numbers: Vec<u32> = if listed.is_empty() { upload.parts.keys().copied().collect() } else { listed };
            let mut bytes = Vec::new();
            for number in &numbers {
                let Some(part) = upload.parts.get(number) else {
                    return error(400, "InvalidPart", "One or more of the specified parts could not be found.", path);
                };
                bytes.extend_from_slice(part);
            }
            let mut object = new_object(bytes, upload.content_type);
            object.etag = format!("\"{}-{}\"", &object.etag[1..33], numbers.len());
            let answer = format!(
                "<CompleteMultipartUploadResult xmlns=\"{XMLNS}\"><Bucket>{}</Bucket><Key>{}</Key><ETag>{}</ETag></CompleteMultipartUploadResult>",
                xml_escape(&inner.bucket),
                xml_escape(&key),
                xml_escape(&object.etag)
            );
            inner.objects.insert(key, object);
            xml(StatusCode::OK, answer)
        }
        _ => not_implemented(&method, path),
    }
}

/// `If-None-Match: *` (create only) and `If-Match` (update only that version) on a write.
fn write_preconditions(inner: &Inner, key: &str, seen: &SeenRequest) -> Option<Response> {
    let existing = inner.objects.get(key);
    let if_none_match = seen.header("if-none-match");
    if !if_none_match.is_empty()
        && let Some(object) = existing
        && etag_matches(if_none_match, &object.etag)
    {
        return Some(precondition_failed(key));
    }
    let if_match = seen.header("if-match");
    if !if_match.is_empty() {
        match existing {
            None => return Some(no_such_key(key)),
            Some(object) if !etag_matches(if_match, &object.etag) => return Some(precondition_failed(key)),
            Some(_) => {}
        }
    }
    None
}

/// A GET or HEAD of a stored object, with the conditional headers and `Range`.
fn read(method: &Method, key: &str, object: &Object, seen: &SeenRequest) -> Response {
    let (if_match, if_none_match) = (seen.header("if-match"), seen.header("if-none-match"));
    if !if_match.is_empty() && !etag_matches(if_match, &object.etag) {
        return precondition_failed(key);
    }
    if if_match.is_empty()
        && let Some(since) = parse_http_date(seen.header("if-unmodified-since"))
        && object.modified > since
    {
        return precondition_failed(key);
    }
    let not_modified = if if_none_match.is_empty() {
        parse_http_date(seen.header("if-modified-since")).is_some_and(|since| object.modified <= since)
    } else {
        etag_matches(if_none_match, &object.etag)
    };
    if not_modified {
        return Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .header("etag", &object.etag)
            .header("last-modified", http_date(object.modified))
            .body(Body::empty())
            .unwrap();
    }

    let size = object.bytes.len() as u64;
    let mut status = StatusCode::OK;
    let mut range = 0..size;
    let mut content_range = None;
    if let Some(spec) = seen.header("range").strip_prefix("bytes=")
        && !spec.contains(',')
        && let Some((first, last)) = spec.split_once('-')
    {
        let wanted = match (first.trim().parse::<u64>().ok(), last.trim().parse::<u64>().ok()) {
            (Some(a), Some(b)) if a <= b => Some(a..(b + 1).min(size)),
            (Some(a), None) if last.trim().is_empty() => Some(a..size),
            (None, Some(n)) if first.trim().is_empty() => Some(size.saturating_sub(n)..size),
            _ => None, // not a valid range: ignored, as HTTP says
        };
        if let Some(wanted) = wanted {
            if wanted.start >= size || wanted.is_empty() {
                let mut answer = error(416, "InvalidRange", "The requested range is not satisfiable", key);
                answer.headers_mut().insert("content-range", format!("bytes */{size}").parse().unwrap());
                return answer;
            }
            status = StatusCode::PARTIAL_CONTENT;
            content_range = Some(format!("bytes {}-{}/{size}", wanted.start, wanted.end - 1));
            range = wanted;
        }
    }

    let body = object.bytes[range.start as usize..range.end as usize].to_vec();
    let mut answer = Response::builder()
        .status(status)
        .header("content-length", body.len())
        .header("etag", &object.etag)
        .header("last-modified", http_date(object.modified))
        .header("accept-ranges", "bytes")
        .header("content-type", object.content_type.as_deref().unwrap_or("application/octet-stream"))
        .header("x-amz-request-id", "FAKES3REQUEST");
    if let Some(content_range) = content_range {
        answer = answer.header("content-range", content_range);
    }
    let body = if *method == Method::HEAD { Body::empty() } else { Body::from(body) };
    answer.body(body).unwrap()
}

/// ListObjectsV2: `prefix`, `delimiter`, `start-after`, `max-keys` and `continuation-token` (the
/// last key or common prefix of the previous page).
fn list(inner: &Inner, query: &BTreeMap<String, String>) -> Response {
    let get = |name: &str| query.get(name).cloned().unwrap_or_default();
    let (prefix, delimiter, start_after, token) =
        (get("prefix"), get("delimiter"), get("start-after"), get("continuation-token"));
    let max_keys: usize = query.get("max-keys").and_then(|m| m.parse().ok()).unwrap_or(1000);
    let after = if token.is_empty() { start_after.clone() } else { token.clone() };

    let mut contents = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut truncated = false;
    let mut last = String::new();
    for (key, object) in inner.objects.range(prefix.clone()..) {
        if !key.starts_with(&prefix) {
            break;
        }
        let common = (!delimiter.is_empty())
            .then(|| {
                key[prefix.len()..].find(&delimiter).map(|at| key[..prefix.len() + at + delimiter.len()].to_owned())
            })
            .flatten();
        let entry = common.clone().unwrap_or_else(|| key.clone());
        if !after.is_empty() && entry.as_str() <= after.as_str() {
            continue;
        }
        if prefixes.last() == Some(&entry) {
            continue;
        }
        if contents.len() + prefixes.len() >= max_keys {
            truncated = true;
            break;
        }
        last = entry.clone();
        match common {
            Some(common) => prefixes.push(common),
            None => contents.push(format!(
                "<Contents><Key>{}</Key><LastModified>{}</LastModified><ETag>{}</ETag><Size>{}</Size><StorageClass>STANDARD</StorageClass></Contents>",
                xml_escape(key),
                iso_date(object.modified),
                xml_escape(&object.etag),
                object.bytes.len()
            )),
        }
    }

    let mut body = format!(
        "<ListBucketResult xmlns=\"{XMLNS}\"><Name>{}</Name><Prefix>{}</Prefix>",
        xml_escape(&inner.bucket),
        xml_escape(&prefix)
    );
    if !delimiter.is_empty() {
        body.push_str(&format!("<Delimiter>{}</Delimiter>", xml_escape(&delimiter)));
    }
    if !start_after.is_empty() {
        body.push_str(&format!("<StartAfter>{}</StartAfter>", xml_escape(&start_after)));
    }
    if !token.is_empty() {
        body.push_str(&format!("<ContinuationToken>{}</ContinuationToken>", xml_escape(&token)));
    }
    body.push_str(&format!(
        "<KeyCount>{}</KeyCount><MaxKeys>{max_keys}</MaxKeys><IsTruncated>{truncated}</IsTruncated>",
        contents.len() + prefixes.len()
    ));
    if truncated {
        body.push_str(&format!("<NextContinuationToken>{}</NextContinuationToken>", xml_escape(&last)));
    }
    for entry in contents {
        body.push_str(&entry);
    }
    for common in prefixes {
        body.push_str(&format!("<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>", xml_escape(&common)));
    }
    body.push_str("</ListBucketResult>");
    xml(StatusCode::OK, body)
}

/// DeleteObjects (`POST /{bucket}?delete`), which `ObjectStoreExt::delete` sends for a single
/// object too. A missing key counts as deleted, as in S3.
fn bulk_delete(inner: &mut Inner, body: &[u8]) -> Response {
    let keys = tag_values(&String::from_utf8_lossy(body), "Key");
    let mut answer = format!("<DeleteResult xmlns=\"{XMLNS}\">");
    for key in keys {
        inner.objects.remove(&key);
        answer.push_str(&format!("<Deleted><Key>{}</Key></Deleted>", xml_escape(&key)));
    }
    answer.push_str("</DeleteResult>");
    xml(StatusCode::OK, answer)
}
