//! Tests of [`super::NodeView`]: its one allocation, its searches, its
//! remembered children.
use super::*;
use crate::node::encode_body;

fn leaf() -> Node {
    Node::Leaf(
        (0..40u32)
            .map(|i| Entry {
                key: Bytes::from(format!("key{i:04}").into_bytes()),
                value: if i % 7 == 0 {
                    Value::Overflow {
                        run: RunRef {
                            page: u64::from(i) + 10,
                            txn: 3,
                            pages: 1,
                        },
                        len: 2000,
                    }
                } else {
                    Value::Inline(Bytes::from(vec![i as u8; i as usize]))
                },
            })
            .collect(),
    )
}

#[test]
fn a_view_finds_what_the_node_holds() {
    let node = leaf();
    let view = NodeView::parse(Kind::Leaf, encode_body(&node)).unwrap();
    assert_eq!(view.to_node(), node);
    let Node::Leaf(entries) = &node else {
        unreachable!()
    };
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(view.find(&e.key), Some(i));
        assert_eq!(view.key(i), &e.key[..]);
    }
    assert_eq!(view.find(b"key0000x"), None);
    assert_eq!(view.partition_point(|k| k < b"key0010".as_slice()), 10);
}

#[test]
fn differing_prefixes_order_keys_as_the_keys() {
    let keys: [&[u8]; 9] = [
        b"",
        b"\0",
        b"a",
        b"a\0",
        b"a\x01",
        b"abcdefgh",
        b"abcdefgh\0",
        b"abcdefgi",
        b"b",
    ];
    for a in keys {
        for b in keys {
            if key_prefix(a) != key_prefix(b) {
                assert_eq!(key_prefix(a).cmp(&key_prefix(b)), a.cmp(b), "{a:?} {b:?}");
            }
        }
    }
}

/// `count` on-disk children at pages 2, 3, ... written by transaction 1.
fn disk_children(count: u64) -> Vec<Child> {
    (0..count)
        .map(|i| {
            Child::Disk(RunRef {
                page: i + 2,
                txn: 1,
                pages: 1,
            })
        })
        .collect()
}

#[test]
fn a_remembered_child_lives_only_as_long_as_its_cache_entry() {
    let children = disk_children(3);
    let node = Node::Branch {
        keys: vec![Bytes::from_static(b"b"), Bytes::from_static(b"c")].into(),
        children,
    };
    let parent = NodeView::parse(Kind::Branch, encode_body(&node)).unwrap();
    let child = Arc::new(NodeView::parse(Kind::Leaf, encode_body(&leaf())).unwrap());
    assert!(parent.child_view(1).is_none(), "nothing remembered yet");
    parent.remember_child(1, &child);
    let other = Arc::new(NodeView::empty_leaf());
    parent.remember_child(1, &other);
    let got = parent.child_view(1).unwrap();
    assert!(Arc::ptr_eq(&got, &child), "a slot is set once");
    assert!(parent.child_view(0).is_none() && parent.child_view(9).is_none());
    assert!(parent.clone().child_view(1).is_none(), "clones start empty");
    drop(got);
    drop(child);
    assert!(
        parent.child_view(1).is_none(),
        "an evicted child is not kept alive by its parent"
    );
    let leaf_view = NodeView::parse(Kind::Leaf, encode_body(&leaf())).unwrap();
    leaf_view.remember_child(0, &other);
    assert!(leaf_view.child_view(0).is_none(), "leaves have no children");
}

#[test]
fn a_leaf_slot_takes_32_bytes() {
    // What the parse and the encoders hand a view per entry (see
    // `SlotValue`): an overflow reference stays in the body.
    assert_eq!(std::mem::size_of::<LeafSlot>(), 32);
}

/// Keys that often share their first eight bytes (so searches fall
/// back to whole keys), in ascending order, no two equal.
fn tied_keys(rng: &mut rand::rngs::StdRng, n: usize) -> Vec<Bytes> {
    use rand::RngExt;
    let mut keys: Vec<Vec<u8>> = (0..n)
        .map(|_| {
            let len = rng.random_range(0..14usize);
            (0..len).map(|_| rng.random_range(0..3u8) + b'a').collect()
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().map(Bytes::from).collect()
}

#[test]
fn a_view_searches_like_a_sorted_list_of_its_keys() {
    use rand::SeedableRng;
    let guard = kv_core::testkit::SeedGuard::new("a_view_searches_like_a_sorted_list_of_its_keys");
    let mut rng = rand::rngs::StdRng::seed_from_u64(guard.seed());
    for round in 0..40 {
        let keys = tied_keys(&mut rng, 1 + round * 3);
        let entries: Vec<Entry> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| Entry {
                key: k.clone(),
                value: Value::Inline(Bytes::from(vec![i as u8; i % 5])),
            })
            .collect();
        let view = NodeView::parse(Kind::Leaf, encode_body(&Node::Leaf(entries))).unwrap();
        let probes = tied_keys(&mut rng, 60);
        for probe in probes.iter().chain(&keys) {
            let below = keys.partition_point(|k| k < probe);
            let at_or_below = keys.partition_point(|k| k <= probe);
            assert_eq!(view.keys_below(probe, false), below, "{probe:?}");
            assert_eq!(view.keys_below(probe, true), at_or_below, "{probe:?}");
            assert_eq!(view.find(probe), keys.iter().position(|k| k == probe));
            assert_eq!(view.partition_point(|k| k < &probe[..]), below);
        }
        if keys.len() < 2 {
            continue;
        }
        let seps = keys.get(1..).unwrap_or_default().to_vec();
        let node = Node::Branch {
            keys: seps.clone().into(),
            children: disk_children(keys.len() as u64),
        };
        let branch = NodeView::parse(Kind::Branch, encode_body(&node)).unwrap();
        assert_eq!(branch.to_node(), node);
        assert_eq!(NodeView::encode(&node), branch, "encoded as parsed");
        let owned = crate::node::Seps::from(seps.clone());
        for probe in probes.iter().chain(&keys) {
            let want = seps.partition_point(|s| s <= probe);
            assert_eq!(branch.child_index(probe), want, "{probe:?}");
            assert_eq!(owned.child_index(probe), want, "{probe:?}");
            assert_eq!(
                branch.seps_below(probe, false),
                seps.partition_point(|s| s < probe)
            );
            assert_eq!(
                branch.sep_partition_point(|s| s <= &probe[..]),
                branch.child_index(probe)
            );
        }
    }
}

#[test]
fn a_view_is_one_allocation_of_tables_then_body() {
    let node = leaf();
    let view = NodeView::parse(Kind::Leaf, encode_body(&node)).unwrap();
    let data = view.data.as_ptr_range();
    let body = view.body().as_ptr_range();
    assert!(
        data.start < body.start && body.end == data.end,
        "body is the allocation's tail"
    );
    assert_eq!(
        view.body_at as usize,
        12 * view.len(),
        "8 + 4 table bytes an entry"
    );
    for i in 0..view.len() {
        assert!(
            data.contains(&view.key(i).as_ptr()),
            "keys are read in place"
        );
        let slot = view.slot(i).unwrap();
        assert_eq!(slot.key.prefix, layout::prefix(&view.data, i));
        assert_eq!(view.entry_start(i), slot.key.span.off as usize - 1);
        assert_eq!(
            view.key_value(i),
            Some((view.key(i), view.value(i).unwrap()))
        );
    }
    assert_eq!(view.key_value(view.len()), None);
    assert_eq!(
        NodeView::parse_slice(Kind::Leaf, view.body()).unwrap(),
        view
    );
    assert_eq!(view.entry_start(view.len()), view.body().len());
    // The slots a view decodes are the ones the parse found, so a
    // patch copies the same slot table as before.
    let slots = super::super::leaf::parse(view.body()).unwrap();
    assert_eq!(
        view.leaf_slot_range(0, view.len()).collect::<Vec<_>>(),
        slots
    );
}

#[test]
fn a_cached_view_weighs_what_it_holds() {
    let children = 30u64;
    let branch = Node::Branch {
        keys: (1..children as u8)
            .map(|i| Bytes::from(vec![b'k', i]))
            .collect(),
        children: disk_children(children),
    };
    for node in [leaf(), branch, Node::Leaf(Vec::new())] {
        let view = NodeView::encode(&node);
        let fixed = std::mem::size_of::<NodeView>() as u64 + 16;
        let tables = view.data.len() - view.body().len();
        let slots = if view.is_leaf() {
            0
        } else {
            (view.len() * std::mem::size_of::<OnceLock<Remembered>>()) as u64
        };
        let allocation = super::pool::capacity_for(view.body().len() + tables);
        assert!(allocation >= view.body().len() + tables);
        assert_eq!(
            view.weight(),
            allocation as u64 + fixed + slots,
            "body and tables (their pool class), the view and its counts, the child slots"
        );
        // A prefix and an offset an entry; a branch has one prefix
        // fewer than children (none for child 0).
        let prefixes = if view.is_leaf() {
            view.len()
        } else {
            view.len() - 1
        };
        assert_eq!(tables, 8 * prefixes + 4 * view.len());
    }
}

#[test]
fn a_remembered_slot_takes_24_bytes_and_hints_the_tables() {
    assert_eq!(std::mem::size_of::<OnceLock<Remembered>>(), 24);
    for view in [NodeView::encode(&leaf()), NodeView::empty_leaf()] {
        let hint = prefetch_hint(&view);
        let at = view.data.as_ptr() as usize;
        assert!(
            hint & !15 <= at && at - (hint & !15) < 16,
            "the tables' address"
        );
        let lines = hint & 15;
        assert!((1..=PREFETCH_MAX_LINES).contains(&lines));
        assert!(lines == PREFETCH_MAX_LINES || lines * 64 >= view.body_at as usize);
    }
}

#[test]
fn a_stale_remembered_child_is_never_read() {
    let node = Node::Branch {
        keys: vec![Bytes::from_static(b"b")].into(),
        children: disk_children(2),
    };
    let parent = NodeView::parse(Kind::Branch, encode_body(&node)).unwrap();
    let child = Arc::new(NodeView::parse(Kind::Leaf, encode_body(&leaf())).unwrap());
    parent.remember_child(0, &child);
    let got = parent.prefetch_child(0).unwrap();
    assert!(Arc::ptr_eq(&got, &child));
    drop((got, child));
    // The child's memory is freed: its remembered address is only
    // prefetched (never read) and the read goes back to the cache.
    assert!(parent.prefetch_child(0).is_none());
    assert!(parent.prefetch_child(1).is_none() && parent.prefetch_child(7).is_none());
    assert!(NodeView::empty_leaf().prefetch_child(0).is_none());
}

#[test]
fn an_encoded_view_equals_the_parse_of_its_body() {
    let branch = Node::Branch {
        keys: (1..30u8)
            .map(|i| Bytes::from(vec![b'k'; usize::from(i)]))
            .collect(),
        children: disk_children(30),
    };
    for node in [leaf(), branch, Node::Leaf(Vec::new())] {
        let encoded = NodeView::encode(&node);
        assert_eq!(encoded.body(), &encode_body(&node)[..]);
        let parsed = NodeView::parse(node.kind(), encode_body(&node)).unwrap();
        assert_eq!(encoded, parsed);
        assert_eq!(encoded.weight(), parsed.weight());
    }
}

#[test]
fn a_copied_leaf_shares_the_view_body() {
    let view = NodeView::parse(Kind::Leaf, encode_body(&leaf())).unwrap();
    let Node::Leaf(entries) = view.to_node() else {
        unreachable!()
    };
    let body = view.body().as_ptr_range();
    for e in &entries {
        assert!(body.contains(&e.key.as_ptr()), "keys are not copied");
        if let Value::Inline(v) = &e.value {
            assert!(v.is_empty() || body.contains(&v.as_ptr()));
        }
    }
}

#[test]
fn a_branch_view_routes_like_the_node() {
    let keys: Vec<Bytes> = (1..30u8).map(|i| Bytes::from(vec![b'a', i * 3])).collect();
    let children = disk_children(30);
    let node = Node::Branch {
        keys: keys.clone().into(),
        children,
    };
    let view = NodeView::parse(Kind::Branch, encode_body(&node)).unwrap();
    assert_eq!(view.to_node(), node);
    for probe in 0..100u8 {
        let key = [b'a', probe];
        assert_eq!(
            view.child_index(&key),
            crate::node::Seps::from(keys.clone()).child_index(&key)
        );
    }
}

#[test]
fn keys_that_share_their_first_eight_bytes_are_searched_like_a_sorted_list() {
    // One long run of tied prefixes (`user:000` then a number), between
    // keys that sort before and after it.
    let mut keys: Vec<Bytes> = vec![Bytes::from_static(b"a")];
    keys.extend((0..150u32).map(|i| Bytes::from(format!("user:000{:05}", i * 2).into_bytes())));
    keys.push(Bytes::from_static(b"zz"));
    let entries: Vec<Entry> = keys
        .iter()
        .map(|k| Entry {
            key: k.clone(),
            value: Value::Inline(Bytes::new()),
        })
        .collect();
    let leaf = NodeView::encode(&Node::Leaf(entries));
    let seps = keys.clone();
    let node = Node::Branch {
        keys: seps.clone().into(),
        children: disk_children(seps.len() as u64 + 1),
    };
    let branch = NodeView::encode(&node);
    let owned = crate::node::Seps::from(seps.clone());
    let mut probes: Vec<Vec<u8>> = (0..310u32)
        .map(|i| format!("user:000{i:05}").into_bytes())
        .collect();
    probes.extend([b"user:000".to_vec(), b"user:0001".to_vec(), b"".to_vec()]);
    for probe in &probes {
        let below = keys.partition_point(|k| k[..] < probe[..]);
        let at_or_below = keys.partition_point(|k| k[..] <= probe[..]);
        assert_eq!(leaf.keys_below(probe, false), below, "{probe:?}");
        assert_eq!(leaf.keys_below(probe, true), at_or_below, "{probe:?}");
        assert_eq!(branch.child_index(probe), at_or_below, "{probe:?}");
        assert_eq!(owned.child_index(probe), at_or_below, "{probe:?}");
    }
}

#[test]
fn encoded_views_fill_exactly_their_pool_class() {
    // What a commit encodes: plain leaves, patched leaves, branches. Each
    // buffer must be what the pool hands out for its length (else it
    // grew past its estimate, left its class, and the cache under-weighs
    // it).
    let plain = leaf();
    let Node::Leaf(entries) = &plain else {
        unreachable!()
    };
    let (data, count) = layout::encode_leaf(entries.len(), plain.body_bytes(), |out, slots| {
        crate::node::leaf::encode_into(entries, out, Some(slots));
    });
    assert_eq!(count, entries.len());
    assert_eq!(data.capacity(), pool::capacity_for(data.len()));
    let mut patch = crate::node::patch::Patch::new(Arc::new(NodeView::encode(&plain)));
    for key in ["key0003", "key0003x", "key9999", "aaa"] {
        patch.put(Entry {
            key: Bytes::from(key.as_bytes().to_vec()),
            value: Value::Inline(Bytes::from(vec![1; 33])),
        });
    }
    let (data, count) = layout::encode_leaf(patch.len(), patch.body_bytes(), |out, slots| {
        patch.encode_into(out, slots);
    });
    assert_eq!(count, patch.len());
    assert_eq!(data.capacity(), pool::capacity_for(data.len()));
    for children in [2u64, 30, 170] {
        let keys: crate::node::Seps = (1..children)
            .map(|i| Bytes::from(format!("sep{i:03}").into_bytes()))
            .collect();
        let data = layout::encode_branch(&keys, &disk_children(children));
        assert_eq!(
            data.capacity(),
            pool::capacity_for(data.len()),
            "{children}"
        );
    }
}

#[test]
fn a_leaf_encoded_with_a_wrong_count_gets_tables_for_what_was_written() {
    let plain = leaf();
    let Node::Leaf(entries) = &plain else {
        unreachable!()
    };
    let parsed = NodeView::parse(Kind::Leaf, encode_body(&plain)).unwrap();
    for wrong in [0, entries.len() - 1, entries.len() + 5] {
        let (data, count) = layout::encode_leaf(wrong, plain.body_bytes(), |out, slots| {
            crate::node::leaf::encode_into(entries, out, Some(slots));
        });
        assert_eq!(count, entries.len(), "claimed {wrong}");
        assert_eq!(NodeView::leaf_of(data, count), parsed, "claimed {wrong}");
    }
}
