//! The Bitcask engine (append-only log segments, in-memory keydir, hint files, merge): being written.
