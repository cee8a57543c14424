//! The private `redis-server` of each case: `cluster::testing` (the server's cluster tests use
//! it too).

pub(crate) use cluster::testing::TestRedis;
