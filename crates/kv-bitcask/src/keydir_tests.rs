//! Tests of [`super::Keydir`] and its leaves.
use super::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

fn entry(n: u32) -> Entry {
    Entry {
        file_id: n,
        offset: n * 2,
        len: n * 3,
        stored_seq: u64::from(n),
    }
}

#[test]
fn entry_is_twenty_bytes() {
    assert_eq!(std::mem::size_of::<Entry>(), 20);
}

#[test]
fn matches_a_btreemap_under_random_operations() {
    let guard = kv_core::testkit::SeedGuard::new("keydir_matches_btreemap");
    let mut rng = StdRng::seed_from_u64(guard.seed());
    let mut kd = Keydir::new();
    let mut model = BTreeMap::new();
    for step in 0..20_000u32 {
        let len = rng.random_range(0..6usize);
        let key: Vec<u8> = (0..len).map(|_| rng.random_range(0..4u8)).collect();
        let big = rng.random_range(0..50u32) == 0;
        let key = if big {
            vec![key.first().copied().unwrap_or(1); 3000]
        } else {
            key
        };
        if rng.random_range(0..3u32) == 0 {
            assert_eq!(kd.remove(&key), model.remove(&key), "step {step}");
        } else {
            assert_eq!(kd.insert(&key, entry(step)), model.insert(key, entry(step)));
        }
        assert_eq!(kd.len(), model.len());
    }
    let all: Vec<_> = kd.iter_mut().map(|(k, e)| (k.to_vec(), e)).collect();
    let want: Vec<_> = model.iter().map(|(k, e)| (k.clone(), *e)).collect();
    assert_eq!(all, want);
    for (k, e) in &model {
        assert_eq!(kd.get(k), Some(*e));
    }
    // Ranges in both directions agree with the model.
    for _ in 0..300 {
        let a: Vec<u8> = (0..rng.random_range(0..4usize))
            .map(|_| rng.random_range(0..4u8))
            .collect();
        let b: Vec<u8> = (0..rng.random_range(0..4usize))
            .map(|_| rng.random_range(0..4u8))
            .collect();
        let start = match rng.random_range(0..3u32) {
            0 => Bound::Included(a.as_slice()),
            1 => Bound::Excluded(a.as_slice()),
            _ => Bound::Unbounded,
        };
        let end = match rng.random_range(0..3u32) {
            0 => Bound::Included(b.as_slice()),
            1 => Bound::Excluded(b.as_slice()),
            _ => Bound::Unbounded,
        };
        let valid = match (start, end) {
            (Bound::Included(s), Bound::Included(e)) => s <= e,
            (Bound::Included(s) | Bound::Excluded(s), Bound::Excluded(e) | Bound::Included(e)) => {
                s < e
            }
            _ => true,
        };
        if !valid {
            continue;
        }
        let want: Vec<_> = model
            .range::<[u8], _>((start, end))
            .map(|(k, e)| (k.clone(), *e))
            .collect();
        for reverse in [false, true] {
            let mut got = Vec::new();
            kd.visit_range(start, end, reverse, &ReadWaits::default(), |k, e| {
                got.push((k.to_vec(), e));
                true
            });
            if reverse {
                got.reverse();
            }
            assert_eq!(got, want, "range {start:?}..{end:?} reverse {reverse}");
        }
    }
}

#[test]
fn leaf_edits_with_deferred_reshapes_match_a_btreemap() {
    let guard = kv_core::testkit::SeedGuard::new("keydir_leaf_edits_match_btreemap");
    let mut rng = StdRng::seed_from_u64(guard.seed());
    let holds = LockHolds::default();
    let mut kd = Keydir::new();
    let mut model = BTreeMap::new();
    for step in 0..20_000u32 {
        let len = rng.random_range(0..6usize);
        let mut key: Vec<u8> = (0..len).map(|_| rng.random_range(0..5u8)).collect();
        if rng.random_range(0..50u32) == 0 {
            key = vec![key.first().copied().unwrap_or(1); 3000];
        }
        let edit = match rng.random_range(0..3u32) {
            0 => Edit::Remove,
            1 => Edit::Keep,
            _ => Edit::Set(entry(step)),
        };
        let mut seen = None;
        let reshape = kd.edit(&key, &holds, Holder::Publish, |old| {
            seen = Some(old);
            edit
        });
        assert_eq!(seen, Some(model.get(&key).copied()), "step {step}");
        match edit {
            Edit::Remove => {
                model.remove(&key);
            }
            Edit::Set(e) => {
                model.insert(key.clone(), e);
            }
            Edit::Keep => {}
        }
        assert_ne!(reshape, Reshape::NoLeaf);
        match reshape {
            // Every other split through the copy-then-install path.
            Reshape::Split { at } if step % 2 == 0 => {
                let split = kd.prepare_split(&key, at).unwrap();
                assert!(kd.install_split(&key, split, at).is_some());
            }
            _ => kd.reshape(&key, reshape),
        }
        assert_eq!(kd.len(), model.len());
    }
    let all: Vec<_> = kd.iter_mut().map(|(k, e)| (k.to_vec(), e)).collect();
    let want: Vec<_> = model.iter().map(|(k, e)| (k.clone(), *e)).collect();
    assert_eq!(all, want);
    // Every leaf is within its bounds after its reshape.
    for cell in kd.leaves.values_mut() {
        assert!(!leaf_mut(cell).is_over_full());
    }
    assert_eq!(holds.holds_by(Holder::Publish), 20_000);
}

#[test]
fn a_prepared_split_is_installed_only_onto_the_leaf_it_was_copied_from() {
    let holds = LockHolds::default();
    for edited in [false, true] {
        let mut kd = Keydir::new();
        let mut model = BTreeMap::new();
        for i in 0..LEAF_MAX_ENTRIES as u32 {
            kd.insert(&(i * 2).to_be_bytes(), entry(i));
            model.insert((i * 2).to_be_bytes().to_vec(), entry(i));
        }
        let key = 7u32.to_be_bytes();
        let reshape = kd.edit(&key, &holds, Holder::Publish, |_| Edit::Set(entry(7)));
        model.insert(key.to_vec(), entry(7));
        let Reshape::Split { at } = reshape else {
            panic!("the leaf must be over-full: {reshape:?}")
        };
        let split = kd.prepare_split(&key, at).unwrap();
        if edited {
            // A merge's edit between the copy and the install.
            let moved = 10u32.to_be_bytes();
            let _ = kd.edit(&moved, &holds, Holder::MergeSwitch, |_| {
                Edit::Set(entry(99))
            });
            model.insert(moved.to_vec(), entry(99));
        }
        let installed = kd.install_split(&key, split, at);
        assert_eq!(
            installed.is_some(),
            !edited,
            "a stale copy is never installed"
        );
        assert_eq!(kd.leaf_count(), 2);
        let all: Vec<_> = kd.iter_mut().map(|(k, e)| (k.to_vec(), e)).collect();
        let want: Vec<_> = model.iter().map(|(k, e)| (k.clone(), *e)).collect();
        assert_eq!(all, want, "edited: {edited}");
    }
}

#[test]
fn builder_matches_inserts_and_stays_editable() {
    let mut b = KeydirBuilder::new();
    for i in 0..1000u32 {
        b.push(&i.to_be_bytes(), entry(i));
    }
    let mut kd = b.finish();
    assert_eq!(kd.len(), 1000);
    assert_eq!(kd.get(&500u32.to_be_bytes()), Some(entry(500)));
    kd.insert(b"", entry(7));
    assert_eq!(kd.iter_mut().next().map(|(k, _)| k.to_vec()), Some(vec![]));
    for i in 0..1000u32 {
        assert!(kd.remove(&i.to_be_bytes()).is_some());
    }
    assert_eq!(kd.len(), 1);
    assert!(Keydir::default().get(b"").is_none());
}

#[test]
fn conditional_updates_check_the_current_entry() {
    let mut kd = Keydir::new();
    kd.insert(b"k", entry(1));
    assert!(!kd.replace_if(b"k", Some(entry(2)), entry(3)));
    assert!(kd.replace_if(b"k", Some(entry(1)), entry(3)));
    assert!(!kd.remove_if(b"k", entry(1)));
    assert!(kd.remove_if(b"k", entry(3)));
    assert!(kd.is_empty());
}
