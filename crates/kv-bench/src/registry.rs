//! Engine registry: name -> factory (being written).
