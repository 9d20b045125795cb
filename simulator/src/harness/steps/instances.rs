use cucumber::given;

use crate::harness::world::PeeringWorld;

#[given(expr = "two fresh instances, {string} at {string} and {string} at {string}")]
async fn two_fresh_instances(
    w: &mut PeeringWorld,
    a: String,
    a_address: String,
    b: String,
    b_address: String,
) {
    w.start([(&a, &a_address), (&b, &b_address)], None).await;
}

#[given(expr = "two fresh instances whose admin APIs require the operator tenant {string}")]
async fn two_tenanted_instances(w: &mut PeeringWorld, tenant: String) {
    w.start_with_auth(
        [
            ("Cloud Nine", "test.cloud-nine-wallet"),
            ("Happy Life", "test.happy-life-bank"),
        ],
        None,
        Some(&tenant),
    )
    .await;
}

#[given(expr = "two fresh instances whose admin APIs require signatures with the secret {string}")]
async fn two_signed_instances(w: &mut PeeringWorld, secret: String) {
    w.start(
        [
            ("Cloud Nine", "test.cloud-nine-wallet"),
            ("Happy Life", "test.happy-life-bank"),
        ],
        Some(&secret),
    )
    .await;
}

/// Referenced by the harness so that the linker keeps this module, and its steps (see `steps`).
#[inline(never)]
pub(crate) fn keep_linked() {}
