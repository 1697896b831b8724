//! Pushing a task's branch with the git program to a real bare repository: it goes through and is
//! idempotent, a diverged remote branch is refused without force, branches outside `ambidex/` and
//! the target branch are never pushed, credentials in a remote URL never reach a message, and the
//! forge token reaches a real HTTP server on 127.0.0.1 only when it is the forge's host.

// Test and benchmark code may unwrap and panic: that is how it reports a failure (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use ambidex::forge::push::{PushCredentials, PushRequest, push, remote_url};
use ambidex::forge::{ForgeError, Token};
use git2::{Oid, Repository, Signature};

const BRANCH: &str = "ambidex/01abcdef/production";

fn commit_file(repo: &Repository, refname: &str, parent: Option<Oid>, file: &str, text: &str) -> Oid {
    let blob = repo.blob(text.as_bytes()).unwrap();
    let mut builder = repo.treebuilder(None).unwrap();
    builder.insert(file, blob, 0o100644).unwrap();
    let tree = repo.find_tree(builder.write().unwrap()).unwrap();
    let me = Signature::now("Dev", "dev@example.com").unwrap();
    let parents: Vec<git2::Commit> = parent.map(|p| repo.find_commit(p).unwrap()).into_iter().collect();
    let parents: Vec<&git2::Commit> = parents.iter().collect();
    let oid = repo.commit(None, &me, &me, text, &tree, &parents).unwrap();
    repo.reference(refname, oid, true, "test").unwrap();
    oid
}

struct Setup {
    _dir: tempfile::TempDir,
    work: Repository,
    remote: Repository,
    base: Oid,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let work = Repository::init(dir.path().join("work")).unwrap();
        let remote = Repository::init_bare(dir.path().join("remote.git")).unwrap();
        work.remote("origin", dir.path().join("remote.git").to_str().unwrap()).unwrap();
        let base = commit_file(&work, "refs/heads/main", None, "a.txt", "base");
        commit_file(&work, &format!("refs/heads/{BRANCH}"), Some(base), "a.txt", "task work");
        Setup { _dir: dir, work, remote, base }
    }

    fn path(&self) -> &Path {
        self.work.workdir().unwrap()
    }

    fn request<'a>(&'a self, branch: &'a str, target: &'a str) -> PushRequest<'a> {
        PushRequest { repo: self.path(), remote: "origin", branch, target_branch: target, credentials: None }
    }

    fn remote_tip(&self, branch: &str) -> Option<Oid> {
        self.remote.find_reference(&format!("refs/heads/{branch}")).ok().and_then(|r| r.target())
    }

    fn local_tip(&self) -> Oid {
        self.work.find_reference(&format!("refs/heads/{BRANCH}")).unwrap().target().unwrap()
    }
}

#[test]
fn the_task_branch_is_pushed_once_then_fast_forwarded() {
    let setup = Setup::new();
    let pushed = push(&setup.request(BRANCH, "main")).unwrap();
    assert_eq!(pushed.commit, setup.local_tip().to_string());
    assert!(!pushed.up_to_date);
    assert_eq!(setup.remote_tip(BRANCH), Some(setup.local_tip()));
    assert_eq!(setup.remote_tip("main"), None, "only the task branch is pushed");

    let again = push(&setup.request(BRANCH, "main")).unwrap();
    assert!(again.up_to_date, "a resumed delivery pushes nothing new");

    let next = commit_file(&setup.work, &format!("refs/heads/{BRANCH}"), Some(setup.local_tip()), "a.txt", "more work");
    let forward = push(&setup.request(BRANCH, "main")).unwrap();
    assert_eq!((forward.commit, forward.up_to_date), (next.to_string(), false));
    assert_eq!(setup.remote_tip(BRANCH), Some(next));
}

#[test]
fn a_diverged_remote_branch_is_refused_and_never_forced() {
    let setup = Setup::new();
    let theirs = commit_file(&setup.remote, &format!("refs/heads/{BRANCH}"), None, "b.txt", "someone else's work");
    let err = push(&setup.request(BRANCH, "main")).unwrap_err();
    assert!(matches!(err, ForgeError::PushRejected(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("not a fast-forward") && text.contains("never force-pushes") && text.contains("git log origin/"),
        "{text}"
    );
    assert_eq!(setup.remote_tip(BRANCH), Some(theirs), "the remote branch is untouched");

    // A remote branch we already know but that moved past ours is refused the same way.
    let setup = Setup::new();
    push(&setup.request(BRANCH, "main")).unwrap();
    let ahead = commit_file(
        &setup.remote,
        &format!("refs/heads/{BRANCH}"),
        Some(setup.local_tip()),
        "a.txt",
        "pushed by a human",
    );
    commit_file(&setup.work, &format!("refs/heads/{BRANCH}"), Some(setup.base), "a.txt", "rewritten");
    let err = push(&setup.request(BRANCH, "main")).unwrap_err();
    assert!(err.to_string().contains("never force-pushes"), "{err}");
    assert_eq!(setup.remote_tip(BRANCH), Some(ahead));
}

#[test]
fn branches_outside_ambidex_and_the_target_branch_are_never_pushed() {
    let setup = Setup::new();
    commit_file(&setup.work, "refs/heads/feature/x", Some(setup.base), "a.txt", "other");
    for (branch, target, says) in [
        ("feature/x", "main", "only its own `ambidex/…` branches"),
        ("main", "main", "it is the target branch"),
        (BRANCH, BRANCH, "it is the target branch"),
        ("+ambidex/01abcdef/production", "main", "only its own"),
    ] {
        let err = push(&setup.request(branch, target)).unwrap_err();
        assert!(matches!(err, ForgeError::PushRefused(_)), "{branch}: {err:?}");
        assert!(err.to_string().contains(says), "{branch}: {err}");
    }
    assert!(setup.remote.references().unwrap().next().is_none(), "nothing reached the remote");
}

#[test]
fn a_missing_remote_says_how_to_add_one() {
    let setup = Setup::new();
    let request = PushRequest { remote: "upstream", ..setup.request(BRANCH, "main") };
    let err = push(&request).unwrap_err().to_string();
    assert!(
        err.contains("no git remote `upstream`")
            && err.contains("git remote add upstream")
            && err.contains("forges.remote"),
        "{err}"
    );
}

#[test]
fn credentials_in_a_remote_url_never_reach_a_message() {
    let setup = Setup::new();
    setup.work.remote_set_url("origin", "http://someone:hunter2-secret@127.0.0.1:9/acme/widgets.git").unwrap();
    let err = push(&setup.request(BRANCH, "main")).unwrap_err().to_string();
    assert!(!err.contains("hunter2-secret") && !err.contains("someone:"), "{err}");
    assert!(err.contains("http://127.0.0.1:9/acme/widgets.git"), "{err}");
    assert!(
        remote_url(setup.path(), "origin").unwrap().contains("hunter2-secret"),
        "the raw URL is still there for git"
    );
}

/// A git HTTP server that asks for credentials (401) and refuses whatever it is given (403),
/// recording each request's `Authorization` header (`None` when there was none).
fn refusing_server() -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}/acme/widgets.git", listener.local_addr().unwrap().port());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut authorization = None;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line.trim_end() != "" {
                if let Some(value) = line.strip_prefix("Authorization: ").or(line.strip_prefix("authorization: ")) {
                    authorization = Some(value.trim().to_owned());
                }
                line.clear();
            }
            let answer = match authorization {
                None => "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"forge\"\r\n",
                Some(_) => "HTTP/1.1 403 Forbidden\r\n",
            };
            record.lock().unwrap().push(authorization);
            let _ = stream.write_all(format!("{answer}Content-Length: 0\r\nConnection: close\r\n\r\n").as_bytes());
        }
    });
    (url, seen)
}

/// `Basic base64(user:password)`, as git sends it.
fn basic(user: &str, password: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("{user}:{password}").into_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            let sextet = (n >> (18 - 6 * i)) & 63;
            out.push(if i <= chunk.len() { ALPHABET[sextet as usize] as char } else { '=' });
        }
    }
    format!("Basic {out}")
}

#[test]
fn the_forge_token_goes_to_the_forge_host_only_and_never_into_a_message() {
    let setup = Setup::new();
    let (url, seen) = refusing_server();
    setup.work.remote_set_url("origin", &url).unwrap();
    let token = "t0k3n-for-the-forge";
    let credentials = |host: &str| PushCredentials {
        username: "x-access-token".into(),
        token: Token::new(token, "$GITHUB_TOKEN"),
        host: host.into(),
    };

    let forge = credentials("127.0.0.1");
    let err = push(&PushRequest { credentials: Some(&forge), ..setup.request(BRANCH, "main") }).unwrap_err();
    let said = err.to_string();
    assert!(said.contains("403") && !said.contains(token), "{said}");
    assert!(
        seen.lock().unwrap().contains(&Some(basic("x-access-token", token))),
        "the token was offered to its forge: {:?}",
        seen.lock().unwrap()
    );

    seen.lock().unwrap().clear();
    let elsewhere = credentials("github.com");
    let err = push(&PushRequest { credentials: Some(&elsewhere), ..setup.request(BRANCH, "main") }).unwrap_err();
    assert!(!err.to_string().contains(token), "{err}");
    let requests = seen.lock().unwrap().clone();
    assert!(
        !requests.is_empty() && requests.iter().all(Option::is_none),
        "no credential left for another host: {requests:?}"
    );
}
