//! The object store for what tasks produce beyond their events: command logs, patches, PR
//! documents and evaluation outputs. Events name each artifact by the SHA-256 of its bytes
//! ([`ArtifactRef`]), so the event log stays small, the same bytes are stored once, and whoever
//! fetches one can tell it is the artifact the log names.
//!
//! `store.artifacts` chooses where: empty for `artifacts/` in the state directory, a directory
//! (`/srv/ambidex-artifacts`, `file:///srv/…`), or an S3-compatible bucket (`s3://BUCKET/PREFIX`,
//! with `store.artifacts_endpoint` for MinIO, Ceph, R2 and the like). Workers on many machines
//! share a bucket as they share the PostgreSQL store. Credentials come from the environment
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`), never from
//! a file a repository could hold.
//!
//! Objects live at `PREFIX/sha256/<first two hex digits>/<digest>`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};
use sha2::{Digest as _, Sha256};

use crate::protocol::{ArtifactKind, ArtifactRef, Digest};

/// How long one request to a remote object store may take, retries included.
const REMOTE_PATIENCE: Duration = Duration::from_secs(30);

/// What went wrong with the artifact store.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// `store.artifacts` names nothing this build can store to.
    #[error(
        "`store.artifacts = {url:?}` cannot be used: {detail}; give a directory, `file:///PATH` or \
         `s3://BUCKET/PREFIX` (with `store.artifacts_endpoint` for an S3-compatible service)"
    )]
    Config {
        /// The configured value.
        url: String,
        /// Why it cannot be used.
        detail: String,
    },
    /// The object store failed or could not be reached.
    #[error(
        "could not {action} the artifact store {location}: {detail}; check `store.artifacts`, the \
         credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and that the service answers"
    )]
    Unavailable {
        /// Where the store is.
        location: String,
        /// What was being done.
        action: &'static str,
        /// What the store said.
        detail: String,
    },
    /// No artifact has this digest.
    #[error("the artifact store {location} holds no artifact {digest}; `ambidex artifact list TASK` shows a task's")]
    Missing {
        /// Where the store is.
        location: String,
        /// The digest asked for.
        digest: Digest,
    },
    /// The stored bytes are not the ones the log names.
    #[error(
        "the artifact {digest} in {location} is damaged: its bytes hash to {found}; the log keeps the true digest, \
         so restore the object from a backup or run the task's step again"
    )]
    Damaged {
        /// Where the store is.
        location: String,
        /// The digest the log names.
        digest: Digest,
        /// What the stored bytes hash to.
        found: Digest,
    },
}

/// Where artifacts go: a local directory or an S3-compatible bucket.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    objects: Arc<dyn ObjectStore>,
    root: ObjectPath,
    location: String,
}

impl ArtifactStore {
    /// The store `url` names (see the module documentation); `endpoint` is the S3-compatible
    /// service's address, when not AWS. An empty `url` is `artifacts/` in `state_dir`, and a
    /// relative path is taken from `state_dir`.
    pub fn open(url: &str, endpoint: &str, state_dir: &Path) -> Result<ArtifactStore, ArtifactError> {
        let config = |detail: String| ArtifactError::Config { url: url.to_owned(), detail };
        let url = url.trim();
        if url.is_empty() {
            return ArtifactStore::local(&state_dir.join("artifacts"));
        }
        if let Some(rest) = url.strip_prefix("file://") {
            if !rest.starts_with('/') {
                return Err(config("a file URL needs an absolute path (`file:///srv/artifacts`)".into()));
            }
            return ArtifactStore::local(Path::new(rest));
        }
        if url.starts_with("s3://") || url.starts_with("s3a://") {
            return ArtifactStore::s3(url, endpoint).map_err(config);
        }
        if url.contains("://") {
            let scheme = url.split("://").next().unwrap_or_default();
            return Err(config(format!("`{scheme}` object stores are not supported")));
        }
        let path = PathBuf::from(url);
        ArtifactStore::local(&if path.is_absolute() { path } else { state_dir.join(path) })
    }

    /// Artifacts as files under `dir` (made when missing).
    pub fn local(dir: &Path) -> Result<ArtifactStore, ArtifactError> {
        let location = dir.display().to_string();
        let unavailable =
            |detail: String| ArtifactError::Unavailable { location: location.clone(), action: "open", detail };
        std::fs::create_dir_all(dir).map_err(|err| unavailable(err.to_string()))?;
        let objects = LocalFileSystem::new_with_prefix(dir).map_err(|err| unavailable(err.to_string()))?;
        Ok(ArtifactStore { objects: Arc::new(objects), root: ObjectPath::default(), location })
    }

    fn s3(url: &str, endpoint: &str) -> Result<ArtifactStore, String> {
        let rest = url.split_once("://").map_or("", |(_, rest)| rest);
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err("the URL names no bucket".into());
        }
        let root = ObjectPath::parse(prefix.trim_matches('/')).map_err(|err| err.to_string())?;
        let endpoint = endpoint.trim();
        let allow_http = endpoint.starts_with("http://")
            || std::env::var("AWS_ALLOW_HTTP").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
        let client = ClientOptions::new()
            .with_timeout(REMOTE_PATIENCE)
            .with_connect_timeout(Duration::from_secs(5))
            .with_allow_http(allow_http);
        let retry = RetryConfig { max_retries: 3, retry_timeout: REMOTE_PATIENCE, ..RetryConfig::default() };
        let mut builder = AmazonS3Builder::from_env().with_url(url).with_client_options(client).with_retry(retry);
        if !endpoint.is_empty() {
            builder = builder.with_endpoint(endpoint).with_virtual_hosted_style_request(false);
        }
        let objects = builder.build().map_err(|err| err.to_string())?;
        let location = if endpoint.is_empty() { url.to_owned() } else { format!("{url} at {endpoint}") };
        Ok(ArtifactStore { objects: Arc::new(objects), root, location })
    }

    /// Where the store is, for messages (never with credentials).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Whether the store answers and lets these credentials in: asks for an object no artifact
    /// has, which a working store answers with "not found".
    pub async fn check(&self) -> Result<(), ArtifactError> {
        match self.objects.head(&self.path_of(&Digest::GENESIS)).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(self.unavailable("reach", &err)),
        }
    }

    /// Stores `bytes` (once: bytes already there are not sent again) and returns their name.
    pub async fn put(&self, kind: ArtifactKind, name: &str, bytes: Vec<u8>) -> Result<ArtifactRef, ArtifactError> {
        let digest = digest_of(&bytes);
        let artifact = ArtifactRef { kind, name: name.to_owned(), digest, bytes: bytes.len() as u64 };
        let path = self.path_of(&digest);
        match self.objects.head(&path).await {
            Ok(meta) if meta.size == artifact.bytes => return Ok(artifact),
            Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
            Err(err) => return Err(self.unavailable("look into", &err)),
        }
        self.objects.put(&path, PutPayload::from(bytes)).await.map_err(|err| self.unavailable("write to", &err))?;
        Ok(artifact)
    }

    /// The bytes stored under `digest`, checked against it.
    pub async fn get(&self, digest: &Digest) -> Result<Vec<u8>, ArtifactError> {
        let path = self.path_of(digest);
        let fetched = match self.objects.get(&path).await {
            Ok(found) => found.bytes().await,
            Err(err) => Err(err),
        };
        let bytes = match fetched {
            Ok(bytes) => bytes.to_vec(),
            Err(object_store::Error::NotFound { .. }) => {
                return Err(ArtifactError::Missing { location: self.location.clone(), digest: *digest });
            }
            Err(err) => return Err(self.unavailable("read from", &err)),
        };
        let found = digest_of(&bytes);
        if found != *digest {
            return Err(ArtifactError::Damaged { location: self.location.clone(), digest: *digest, found });
        }
        Ok(bytes)
    }

    fn path_of(&self, digest: &Digest) -> ObjectPath {
        let hex = digest.to_string();
        let mut path = self.root.clone();
        for part in ["sha256", &hex[..2], &hex] {
            path = path.clone().join(part);
        }
        path
    }

    fn unavailable(&self, action: &'static str, err: &object_store::Error) -> ArtifactError {
        ArtifactError::Unavailable { location: self.location.clone(), action, detail: err.to_string() }
    }
}

/// The SHA-256 of `bytes`: an artifact's name.
pub fn digest_of(bytes: &[u8]) -> Digest {
    Digest(Sha256::digest(bytes).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_artifacts_round_trip_once_and_damage_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open("", "", dir.path()).unwrap();
        let stored = store.put(ArtifactKind::Log, "validation: cargo test", b"ok\n".to_vec()).await.unwrap();
        assert_eq!(stored.bytes, 3);
        assert_eq!(store.get(&stored.digest).await.unwrap(), b"ok\n");
        let hex = stored.digest.to_string();
        let file = dir.path().join("artifacts/sha256").join(&hex[..2]).join(&hex);
        assert!(file.is_file(), "stored at its content address");
        // The same bytes under another name are the same object.
        let again = store.put(ArtifactKind::EvalOutput, "other", b"ok\n".to_vec()).await.unwrap();
        assert_eq!(again.digest, stored.digest);

        std::fs::write(&file, b"tampered").unwrap();
        let err = store.get(&stored.digest).await.unwrap_err();
        assert!(matches!(err, ArtifactError::Damaged { .. }), "{err}");
        assert!(err.to_string().contains(&hex), "{err}");
        let missing = store.get(&digest_of(b"never stored")).await.unwrap_err();
        assert!(matches!(missing, ArtifactError::Missing { .. }), "{missing}");
    }

    #[test]
    fn urls_choose_the_store_and_bad_ones_say_what_to_write() {
        let dir = tempfile::tempdir().unwrap();
        let relative = ArtifactStore::open("kept", "", dir.path()).unwrap();
        assert_eq!(relative.location(), dir.path().join("kept").display().to_string());
        let absolute = dir.path().join("abs");
        let file = ArtifactStore::open(&format!("file://{}", absolute.display()), "", dir.path()).unwrap();
        assert_eq!(file.location(), absolute.display().to_string());
        for bad in ["file://relative/dir", "gs://bucket/x", "s3:///no-bucket"] {
            let err = ArtifactStore::open(bad, "", dir.path()).unwrap_err();
            assert!(matches!(err, ArtifactError::Config { .. }) && err.to_string().contains("s3://BUCKET"), "{err}");
        }
        let s3 = ArtifactStore::open("s3://team-bucket/ambidex", "http://127.0.0.1:9", dir.path()).unwrap();
        assert_eq!(s3.location(), "s3://team-bucket/ambidex at http://127.0.0.1:9");
        assert_eq!(s3.path_of(&Digest::GENESIS).as_ref(), format!("ambidex/sha256/00/{}", Digest::GENESIS));
    }
}
