use super::*;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("cachebench-out-{}-{name}", std::process::id()))
        .join("parent");
    let _ = fs::remove_dir_all(dir.parent().unwrap());
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn set(pairs: &[(&str, &str)]) -> Vec<OutFile> {
    pairs.iter().map(|(n, b)| OutFile::new(*n, *b)).collect()
}

#[test]
fn a_later_run_replaces_the_earlier_set_as_a_whole() {
    let parent = scratch("replace");
    let out = parent.join("report");
    prepare(&out).unwrap();
    write_all(&out, &set(&[("a.csv", "1"), ("b.svg", "2")])).unwrap();
    assert_eq!(names(&out), [SET_LIST, "a.csv", "b.svg"]);
    assert_eq!(write_all(&out, &set(&[("a.csv", "3")])).unwrap(), ["a.csv"]);
    assert_eq!(fs::read_to_string(out.join("a.csv")).unwrap(), "3");
    assert_eq!(names(&out), [SET_LIST, "a.csv"], "the stale file is gone");
    assert_eq!(
        names(&parent),
        ["report"],
        "no temporary folder left beside it"
    );
    let _ = fs::remove_dir_all(parent.parent().unwrap());
}

/// A `MANIFEST` listing the user's own files used to be read as the list of an earlier run's
/// files, and those files were deleted.
#[test]
fn a_folder_holding_files_the_program_did_not_write_is_refused_and_left_untouched() {
    let parent = scratch("foreign");
    let out = parent.join("sdist");
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join("MANIFEST"), "setup.py\nreport.md\n").unwrap();
    fs::write(out.join("setup.py"), "mine").unwrap();
    fs::write(out.join("report.md"), "my own report").unwrap();
    let before = names(&out);
    let err = prepare(&out).unwrap_err().to_string();
    assert!(
        err.contains("did not write") && err.contains("MANIFEST") && err.contains("setup.py"),
        "{err}"
    );
    let err = write_all(&out, &set(&[("report.md", "new")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(names(&out), before);
    assert_eq!(fs::read_to_string(out.join("setup.py")).unwrap(), "mine");
    assert_eq!(
        fs::read_to_string(out.join("report.md")).unwrap(),
        "my own report"
    );
    assert_eq!(
        names(&parent),
        ["sdist"],
        "no temporary folder left beside it"
    );
    let _ = fs::remove_dir_all(parent.parent().unwrap());
}

#[test]
fn a_file_added_to_or_changed_in_a_set_makes_it_the_users() {
    for (what, change) in [
        ("added", ("notes.txt", "mine")),
        ("changed", ("a.csv", "edited by hand")),
    ] {
        let parent = scratch(what);
        let out = parent.join("report");
        write_all(&out, &set(&[("a.csv", "1")])).unwrap();
        fs::write(out.join(change.0), change.1).unwrap();
        let err = prepare(&out).unwrap_err().to_string();
        assert!(err.contains(change.0), "{what}: {err}");
        assert!(write_all(&out, &set(&[("a.csv", "2")])).is_err(), "{what}");
        assert_eq!(fs::read_to_string(out.join(change.0)).unwrap(), change.1);
        let _ = fs::remove_dir_all(parent.parent().unwrap());
    }
}

#[test]
fn an_empty_or_missing_folder_receives_a_set_and_a_forged_list_is_not_proof() {
    let parent = scratch("empty");
    let out = parent.join("report");
    fs::create_dir_all(&out).unwrap();
    write_all(&out, &set(&[("a.csv", "1")])).unwrap();
    assert_eq!(names(&out), [SET_LIST, "a.csv"]);
    let missing = parent.join("deeper/still");
    write_all(&missing, &set(&[("a.csv", "1")])).unwrap();
    assert_eq!(names(&missing), [SET_LIST, "a.csv"]);
    // A list naming a file whose contents it does not match does not make the file ours.
    let forged = parent.join("forged");
    fs::create_dir_all(&forged).unwrap();
    fs::write(forged.join("data.txt"), "precious").unwrap();
    fs::write(
        forged.join(SET_LIST),
        format!("{HEADER}\n0000000000000000 8 data.txt\n"),
    )
    .unwrap();
    assert!(write_all(&forged, &set(&[("a.csv", "1")])).is_err());
    assert_eq!(
        fs::read_to_string(forged.join("data.txt")).unwrap(),
        "precious"
    );
    let _ = fs::remove_dir_all(parent.parent().unwrap());
}

#[test]
fn a_failure_before_the_swap_leaves_the_previous_set_whole_and_nothing_beside_it() {
    let parent = scratch("fail");
    let out = parent.join("report");
    write_all(&out, &set(&[("a.csv", "1"), ("b.csv", "2")])).unwrap();
    let mut seen = None;
    let err = write_set(
        &out,
        &set(&[("a.csv", "new"), ("c.csv", "new")]),
        |staging| {
            seen = Some(names(staging));
            Err(Error::Measurement("disk full (simulated)".into()))
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("disk full"));
    assert_eq!(
        seen.unwrap(),
        [SET_LIST, "a.csv", "c.csv"],
        "the new set was complete beside the old one"
    );
    assert_eq!(names(&out), [SET_LIST, "a.csv", "b.csv"]);
    assert_eq!(fs::read_to_string(out.join("a.csv")).unwrap(), "1");
    assert_eq!(names(&parent), ["report"]);
    let _ = fs::remove_dir_all(parent.parent().unwrap());
}

#[test]
fn a_signal_while_a_set_is_written_removes_the_half_written_folder() {
    let parent = scratch("signal");
    let out = parent.join("report");
    write_all(&out, &set(&[("a.csv", "1")])).unwrap();
    let staging = parent.join(".report.cachebench-half");
    fs::create_dir_all(&staging).unwrap();
    fs::write(staging.join("a.csv"), "half").unwrap();
    *STAGING.lock().unwrap() = Some(staging.clone());
    abandon_staging();
    assert!(!staging.exists());
    assert!(STAGING.lock().unwrap().is_none());
    assert_eq!(names(&parent), ["report"]);
    assert_eq!(fs::read_to_string(out.join("a.csv")).unwrap(), "1");
    let _ = fs::remove_dir_all(parent.parent().unwrap());
}

#[test]
fn a_symbolic_link_to_a_set_is_followed_not_replaced() {
    let parent = scratch("link");
    let real = parent.join("real");
    write_all(&real, &set(&[("a.csv", "1")])).unwrap();
    let link = parent.join("link");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_all(&link, &set(&[("a.csv", "2")])).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(real.join("a.csv")).unwrap(), "2");
    }
    let _ = fs::remove_dir_all(parent.parent().unwrap());
}

#[test]
fn unusable_folders_and_names_are_refused_before_any_work() {
    let parent = scratch("file");
    let file = parent.join("a-file");
    fs::write(&file, "a file").unwrap();
    let err = prepare(&file).unwrap_err().to_string();
    assert!(err.contains("is not a folder"), "{err}");
    for bad in ["", ".hidden", "../up", "a/b", SET_LIST] {
        let err = write_all(&parent.join("r"), &set(&[(bad, "x")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a plain file name"), "{bad:?}: {err}");
    }
    assert_eq!(names(&parent), ["a-file"]);
    let _ = fs::remove_dir_all(parent.parent().unwrap());
}
