//! A migration that has landed is never edited: databases in the field ran its
//! text once and will not run it again, so a change to it would leave them on a
//! schema no test has seen. `migrations/landed.sha256` (in `sha256sum` format)
//! lists every migration file with its digest; a new migration is a new file and
//! a new line (`sha256sum sqlite/*.sql postgres/*.sql > landed.sha256`).

use gerbang_store::migrations::{Migration, POSTGRES, SQLITE};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

fn listed() -> BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let text = std::fs::read_to_string(dir.join("landed.sha256")).expect("landed.sha256");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (digest, file) = l.split_once("  ").expect("`DIGEST  FILE` lines");
            (file.to_string(), digest.to_string())
        })
        .collect()
}

fn on_disk() -> BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut found = BTreeMap::new();
    for backend in ["sqlite", "postgres"] {
        for entry in std::fs::read_dir(dir.join(backend)).expect("a migrations folder") {
            let path = entry.expect("an entry").path();
            let bytes = std::fs::read(&path).expect("a migration");
            let name = path.file_name().unwrap().to_string_lossy();
            found.insert(
                format!("{backend}/{name}"),
                hex::encode(Sha256::digest(&bytes)),
            );
        }
    }
    found
}

#[test]
fn landed_migrations_are_never_edited() {
    let listed = listed();
    let on_disk = on_disk();
    for (file, digest) in &listed {
        match on_disk.get(file) {
            None => panic!("{file} has landed and was removed; landed migrations stay"),
            Some(now) => assert_eq!(
                now, digest,
                "{file} has landed and was edited; write a new migration instead"
            ),
        }
    }
    for file in on_disk.keys() {
        assert!(
            listed.contains_key(file),
            "{file} is not in migrations/landed.sha256; add its line when it lands"
        );
    }
}

fn check_numbering(backend: &str, migrations: &[Migration]) {
    let on_disk = on_disk();
    let files: Vec<&String> = on_disk
        .keys()
        .filter(|f| f.starts_with(&format!("{backend}/")))
        .collect();
    assert_eq!(
        files.len(),
        migrations.len(),
        "{backend}: files vs embedded list"
    );
    for (i, (m, file)) in migrations.iter().zip(files).enumerate() {
        assert_eq!(m.version, i as i64 + 1, "{backend}: versions run 1, 2, 3…");
        assert_eq!(
            file,
            &format!("{backend}/{:04}_{}.sql", m.version, m.name),
            "{backend}: the embedded migration names its file"
        );
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(file),
        )
        .expect("a migration");
        assert_eq!(m.sql, text, "{file}: the embedded text is the file's");
    }
}

#[test]
fn every_migration_file_is_embedded_in_order() {
    check_numbering("sqlite", SQLITE);
    check_numbering("postgres", POSTGRES);
}
