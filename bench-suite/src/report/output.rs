//! Writing the report's files: the folder is checked before anything is measured, every file
//! is written atomically (a temporary file, then a rename), and the files an earlier run wrote
//! that this run does not are removed, so the folder holds one run's files and nothing stale.
//!
//! The report's own files are listed in the folder's `MANIFEST` file (one name a line): only
//! those are ever removed; anything else in the folder is left alone.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use super::OutFile;
use crate::error::{Error, Result};

/// The list of the files the last run wrote.
pub const MANIFEST: &str = "MANIFEST";

/// Creates `dir` if needed and checks that files can be written there, before a run spends
/// minutes measuring.
pub fn prepare(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::Invalid(format!(
            "--out {}: exists and is not a folder",
            dir.display()
        )));
    }
    fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
    let probe = dir.join(format!(".cachebench-probe-{}", std::process::id()));
    fs::write(&probe, b"probe").map_err(|e| Error::io("cannot write in", dir, e))?;
    fs::remove_file(&probe).map_err(|e| Error::io("cannot remove", &probe, e))?;
    Ok(())
}

/// Writes `body` to `path` through a temporary file in the same folder and a rename: a reader
/// sees the old file or the new one, never half of one.
pub fn write_atomically(path: &Path, body: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let written = fs::File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(body)?;
            f.sync_all()
        })
        .map_err(|e| Error::io("cannot write", path, e));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io("cannot write", path, e)
    })
}

/// Writes `files` into `dir` (prepared by [`prepare`]), then removes the files of an earlier
/// run that this run did not write. Returns the names written.
pub fn write_all(dir: &Path, files: &[OutFile]) -> Result<Vec<String>> {
    let manifest = dir.join(MANIFEST);
    let earlier = fs::read_to_string(&manifest).unwrap_or_default();
    for f in files {
        write_atomically(&dir.join(&f.name), f.body.as_bytes())?;
    }
    let names: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
    write_atomically(&manifest, (names.join("\n") + "\n").as_bytes())?;
    for old in earlier.lines().map(str::trim) {
        let owned = !old.is_empty() && !old.contains(['/', '\\']) && old != MANIFEST;
        if owned && !names.iter().any(|n| n == old) {
            let _ = fs::remove_file(dir.join(old));
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("cachebench-out-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_later_run_removes_the_files_only_an_earlier_run_wrote_and_nothing_else() {
        let dir = scratch("stale");
        prepare(&dir).unwrap();
        fs::write(dir.join("notes.txt"), "mine").unwrap();
        let first = [OutFile::new("a.csv", "1"), OutFile::new("b.svg", "2")];
        write_all(&dir, &first).unwrap();
        let second = [OutFile::new("a.csv", "3")];
        assert_eq!(write_all(&dir, &second).unwrap(), ["a.csv"]);
        assert_eq!(fs::read_to_string(dir.join("a.csv")).unwrap(), "3");
        assert!(!dir.join("b.svg").exists(), "the stale file is gone");
        assert!(
            dir.join("notes.txt").exists(),
            "a file the report does not own stays"
        );
        let leftovers: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(
            leftovers.is_empty(),
            "no temporary file left: {leftovers:?}"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unusable_folder_is_refused_before_any_work() {
        let dir = scratch("file");
        fs::create_dir_all(dir.parent().unwrap()).unwrap();
        fs::write(&dir, "a file").unwrap();
        let err = prepare(&dir).unwrap_err().to_string();
        assert!(err.contains("is not a folder"), "{err}");
        let _ = fs::remove_file(&dir);
    }
}
