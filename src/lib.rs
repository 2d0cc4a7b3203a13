//! kvlab: the `kv` command line over every engine (being written).
