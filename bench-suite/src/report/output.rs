//! Writing a result set (the report's files, or a trace run's) as a whole.
//!
//! The folder given with `--out` belongs to the program, and the program proves it before it
//! touches anything: each set it writes holds a list of its files with their length and a hash
//! of their contents ([`SET_LIST`]). A folder is used only when it does not exist, is empty, or
//! holds nothing but the files of an earlier set, unchanged; any other file (a `MANIFEST` of
//! the user's, notes, an edited report) makes the run stop before it measures, with the names,
//! and nothing is changed.
//!
//! The new set is written into a folder beside the old one and the two are swapped in one step
//! (`renameat2(RENAME_EXCHANGE)` on Linux; a rename over an absent or empty folder elsewhere),
//! so a failure, a full disk or a signal at any moment leaves the previous complete set or the
//! new complete set at `--out`. The old set is removed after the swap, file by file as listed.
//! While a set is being written, [`abandon_staging`] (which the program calls on SIGINT, SIGTERM
//! and SIGHUP) removes the half-written folder; the swap itself is not interrupted.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use super::OutFile;
use crate::error::{Error, Result};

/// The file in each set that lists its files: `hash length name`, one a line, under a header.
pub const SET_LIST: &str = ".cachebench-set";

/// The first line of [`SET_LIST`].
const HEADER: &str = "cachebench result set 1";

/// The folder being written, if any: [`abandon_staging`] removes it. Held for the whole of a
/// write, so that a signal waits for the swap to finish rather than cut it.
static STAGING: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Removes the folder of a set being written, if there is one, after any swap under way has
/// finished. For a signal handler: the program calls it, then exits.
pub fn abandon_staging() {
    let mut staging = STAGING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(dir) = staging.take() {
        let _ = fs::remove_dir_all(dir);
    }
}

/// Checks, before a run spends minutes measuring, that `dir` may receive a result set: it is a
/// folder (or does not exist yet) that holds only files an earlier set wrote, and its parent
/// lets a folder be created beside it. Creates the parent folders if needed; leaves nothing.
pub fn prepare(dir: &Path) -> Result<()> {
    let target = Target::of(dir)?;
    target.check_owned()?;
    fs::create_dir_all(&target.parent).map_err(|e| Error::io("cannot create", dir, e))?;
    let probe = target.staging_path();
    fs::create_dir(&probe).map_err(|e| Error::io("cannot write beside", dir, e))?;
    fs::remove_dir(&probe).map_err(|e| Error::io("cannot remove", &probe, e))?;
    Ok(())
}

/// Writes `body` to `path` through a temporary file in the same folder and a rename: a reader
/// sees the old file or the new one, never half of one.
pub fn write_atomically(path: &Path, body: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let written = write_synced(&tmp, body).map_err(|e| Error::io("cannot write", path, e));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io("cannot write", path, e)
    })
}

/// Replaces the set at `dir` with `files` as a whole (see the module's documentation). Returns
/// the names written.
pub fn write_all(dir: &Path, files: &[OutFile]) -> Result<Vec<String>> {
    write_set(dir, files, |_| Ok(()))
}

/// [`write_all`], calling `before_swap` with the staging folder once every file is written
/// (tests use it to fail or look at the moment of the swap).
fn write_set(
    dir: &Path,
    files: &[OutFile],
    before_swap: impl FnOnce(&Path) -> Result<()>,
) -> Result<Vec<String>> {
    for f in files {
        if !is_plain_name(&f.name) || f.name == SET_LIST {
            return Err(Error::Invalid(format!(
                "the report cannot write a file named {:?}: not a plain file name",
                f.name
            )));
        }
    }
    let target = Target::of(dir)?;
    fs::create_dir_all(&target.parent).map_err(|e| Error::io("cannot create", dir, e))?;
    let mut staging = STAGING.lock().unwrap_or_else(PoisonError::into_inner);
    let new = target.staging_path();
    fs::create_dir(&new).map_err(|e| Error::io("cannot write beside", dir, e))?;
    *staging = Some(new.clone());
    let result = fill(&new, files)
        .and_then(|()| before_swap(&new))
        .and_then(|()| target.swap_in(&new));
    match result {
        Ok(old) => {
            *staging = None;
            if let Some(old) = old {
                remove_owned(&old);
            }
            Ok(files.iter().map(|f| f.name.clone()).collect())
        }
        Err(e) => {
            *staging = None;
            let _ = fs::remove_dir_all(&new);
            Err(e)
        }
    }
}

/// Writes `files` and their list into the empty folder `dir`.
fn fill(dir: &Path, files: &[OutFile]) -> Result<()> {
    let mut list = format!("{HEADER}\n");
    for f in files {
        let path = dir.join(&f.name);
        write_synced(&path, f.body.as_bytes()).map_err(|e| Error::io("cannot write", &path, e))?;
        list += &format!(
            "{} {} {}\n",
            fingerprint(f.body.as_bytes()),
            f.body.len(),
            f.name
        );
    }
    let path = dir.join(SET_LIST);
    write_synced(&path, list.as_bytes()).map_err(|e| Error::io("cannot write", &path, e))?;
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("cannot write", dir, e))
}

fn write_synced(path: &Path, body: &[u8]) -> std::io::Result<()> {
    let mut f = fs::File::create(path)?;
    f.write_all(body)?;
    f.sync_all()
}

/// A name that stays in its folder and is not hidden.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\', '\0'])
}

/// FNV-1a, 64 bits, of `bytes`, in hex: enough to tell a file the program wrote from one that
/// was changed since (it is not a defence against someone forging a set on purpose).
fn fingerprint(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Where a set goes: the folder (symbolic links resolved, so that a link is followed rather
/// than replaced), its parent and its name.
struct Target {
    dir: PathBuf,
    parent: PathBuf,
    name: String,
}

impl Target {
    fn of(dir: &Path) -> Result<Target> {
        let dir = if dir.exists() {
            fs::canonicalize(dir).map_err(|e| Error::io("cannot read", dir, e))?
        } else {
            dir.to_path_buf()
        };
        if dir.exists() && !dir.is_dir() {
            return Err(Error::Invalid(format!(
                "--out {}: exists and is not a folder",
                dir.display()
            )));
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| Error::Invalid(format!("--out {}: names no folder", dir.display())))?;
        let parent = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Ok(Target { dir, parent, name })
    }

    /// A folder name beside the target that no other run uses.
    fn staging_path(&self) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        self.parent.join(format!(
            ".{}.cachebench-{}-{nanos}",
            self.name,
            std::process::id()
        ))
    }

    /// Refuses a folder that holds anything but an earlier set, unchanged.
    fn check_owned(&self) -> Result<()> {
        let foreign = foreign_files(&self.dir)?;
        if foreign.is_empty() {
            return Ok(());
        }
        let shown: Vec<&str> = foreign.iter().take(5).map(String::as_str).collect();
        let more = foreign.len().saturating_sub(shown.len());
        Err(Error::Invalid(format!(
            "--out {}: holds files this program did not write or that changed since ({}{}); \
             nothing was changed. Name a new or empty folder, or one that only earlier runs \
             wrote to",
            self.dir.display(),
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )))
    }

    /// Puts the complete set at `new` in place of the folder, in one step. Returns where the
    /// old set now is, if there was one.
    fn swap_in(&self, new: &Path) -> Result<Option<PathBuf>> {
        self.check_owned()?;
        let is_empty = |d: &Path| fs::read_dir(d).map(|mut r| r.next().is_none());
        if !self.dir.exists() || is_empty(&self.dir).unwrap_or(false) {
            fs::rename(new, &self.dir).map_err(|e| Error::io("cannot write", &self.dir, e))?;
            return Ok(None);
        }
        exchange(new, &self.dir).map_err(|e| Error::io("cannot replace", &self.dir, e))?;
        Ok(Some(new.to_path_buf()))
    }
}

/// Swaps two folders in one step.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(std::io::Error::from)
}

/// Swaps two folders with two renames: between them, `b` is briefly absent (its old contents
/// are at `a`'s name, complete).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    let aside = a.with_extension("old");
    fs::rename(b, &aside)?;
    if let Err(e) = fs::rename(a, b) {
        let _ = fs::rename(&aside, b);
        return Err(e);
    }
    fs::rename(&aside, a)
}

/// The names in `dir` that are not part of the set it holds, unchanged: every name when it
/// holds no list. A missing folder holds none.
fn foreign_files(dir: &Path) -> Result<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("cannot read", dir, e)),
    };
    let listed = listed(dir);
    let mut foreign = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("cannot read", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(listed) = &listed else {
            foreign.push(name);
            continue;
        };
        if name == SET_LIST {
            continue;
        }
        let owned = entry.file_type().is_ok_and(|t| t.is_file())
            && listed
                .iter()
                .find(|(n, ..)| *n == name)
                .is_some_and(|(_, len, hash)| unchanged(&entry.path(), *len, hash));
        if !owned {
            foreign.push(name);
        }
    }
    foreign.sort();
    Ok(foreign)
}

/// The files the set in `dir` lists, with length and hash; `None` when it holds no valid list.
fn listed(dir: &Path) -> Option<Vec<(String, u64, String)>> {
    let text = fs::read_to_string(dir.join(SET_LIST)).ok()?;
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return None;
    }
    let mut out = Vec::new();
    for line in lines {
        let mut parts = line.splitn(3, ' ');
        let (Some(hash), Some(len), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
            return None;
        };
        if !is_plain_name(name) {
            return None;
        }
        out.push((name.to_owned(), len.parse().ok()?, hash.to_owned()));
    }
    Some(out)
}

fn unchanged(path: &Path, len: u64, hash: &str) -> bool {
    fs::metadata(path).is_ok_and(|m| m.len() == len)
        && fs::read(path).is_ok_and(|b| fingerprint(&b) == hash)
}

/// Removes the set at `dir` (an old set, swapped out): the files it lists and still holds
/// unchanged, its list, then the folder if nothing else is in it.
fn remove_owned(dir: &Path) {
    for (name, len, hash) in listed(dir).unwrap_or_default() {
        let path = dir.join(&name);
        if unchanged(&path, len, &hash) {
            let _ = fs::remove_file(path);
        }
    }
    let _ = fs::remove_file(dir.join(SET_LIST));
    let _ = fs::remove_dir(dir);
}

#[cfg(test)]
mod tests;
