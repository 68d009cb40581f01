//! AdminZkClient (being written).
#[derive(Debug)] pub enum AdminError {}
pub struct AdminZkClient;
