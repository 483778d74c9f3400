use super::*;

#[test]
fn views_are_per_page_and_total() {
    for page in ["a", "b", "a", "c", "a"] {
        view(page.into());
    }
    assert_eq!(views("a".into()), 3);
    assert_eq!(views("b".into()), 1);
    assert_eq!(views("z".into()), 0);
    assert_eq!(total_views(), 5);
}

#[test]
fn work_counts_per_key_and_checksums() {
    work(1, 10);
    work(1, 10);
    work(2, 0);
    assert_eq!(work_done(1), 2);
    assert_eq!(work_done(2), 1);
    let expected = 2 * i128::from(hash_rounds(1, 10) & 0xffff_ffff) + 2;
    assert_eq!(work_checksum(), Int::from(expected));
}

#[test]
fn init_counts_installs() {
    init();
    init();
    assert_eq!(installs(), 2);
}

/// The hash is pinned: the benchmarks' checksums depend on it.
#[test]
fn hash_is_stable() {
    assert_eq!(hash_rounds(0, 1), 0xe220_a839_7b1d_cdaf);
}
