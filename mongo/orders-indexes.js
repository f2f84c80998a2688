// Indexes of the orders database, mirroring order_subgraph/src/orders/adapters/indexes.py
// (the service also creates them idempotently at start-up, and drops the listing indexes of
// earlier releases).
const orders = db.getSiblingDB("orders");
// listings, newest first: every order's key in all orders and within its customer's, and the
// sparse fences that bound every read of them
for (const scope of ["g", "u"]) {
  orders.orders.createIndex({ [`k${scope}_created`]: 1 }, { name: `k${scope}_created` });
  orders.orders.createIndex({ [`f${scope}_created`]: 1 }, { name: `f${scope}_created`, sparse: true });
}
orders.orders.createIndex({ user_id: 1, idempotency_key: 1 }, { name: "user_idempotency_key",
  unique: true, partialFilterExpression: { idempotency_key: { $type: "string" } } });
orders.orders.createIndex({ user_id: 1, slot: 1 }, { name: "user_open_slot",
  unique: true, partialFilterExpression: { slot: { $type: "int" } } });
orders.orders.createIndex({ status: 1, updated_at: 1 }, { name: "status_updated" });
