//! Black-box tests live in `http/`.
