//! The Kubernetes backend: one Secret per record (being written).
