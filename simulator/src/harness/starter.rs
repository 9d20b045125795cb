//! `peerlab test --init DIR`: a starter kit for someone writing their first feature files, an
//! example peering feature and an example targets file. The files are embedded, so the binary
//! writes them anywhere, outside a checkout too.

use std::io;
use std::path::{Path, PathBuf};

/// The kit's files: where each goes under the directory, and its text.
const FILES: &[(&str, &str)] = &[
    (
        "features/peering.feature",
        include_str!("../../templates/init/features/peering.feature"),
    ),
    (
        "targets.toml",
        include_str!("../../templates/init/targets.toml"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum StarterError {
    #[error("{} already exists; not overwriting it", .0.display())]
    Exists(PathBuf),
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
}

/// Writes the kit under `dir` (created if needed) and returns the files written. Nothing is
/// written when one of the files exists already, so a refused kit leaves no half of itself.
pub fn write(dir: &Path) -> Result<Vec<PathBuf>, StarterError> {
    let paths: Vec<PathBuf> = FILES.iter().map(|(file, _)| dir.join(file)).collect();
    if let Some(existing) = paths.iter().find(|path| path.exists()) {
        return Err(StarterError::Exists(existing.clone()));
    }
    for (path, (_, contents)) in paths.iter().zip(FILES) {
        let failed = |source| StarterError::Write {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(failed)?;
        }
        // `create_new`: a file that appeared since the check above is still not overwritten.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|source| match source.kind() {
                io::ErrorKind::AlreadyExists => StarterError::Exists(path.clone()),
                _ => failed(source),
            })?;
        io::Write::write_all(&mut file, contents.as_bytes()).map_err(failed)?;
    }
    Ok(paths)
}
