// Indexes of the orders database, mirroring order_subgraph/src/orders/adapters/indexes.py
// (the service also creates them idempotently at start-up).
const orders = db.getSiblingDB("orders");
orders.orders.createIndex({ user_id: 1, created_at: -1, _id: -1 }, { name: "user_created" });
orders.orders.createIndex({ created_at: -1, _id: -1 }, { name: "created" });
orders.orders.createIndex({ user_id: 1, idempotency_key: 1 }, { name: "user_idempotency_key",
  unique: true, partialFilterExpression: { idempotency_key: { $type: "string" } } });
orders.orders.createIndex({ user_id: 1, slot: 1 }, { name: "user_open_slot",
  unique: true, partialFilterExpression: { slot: { $type: "int" } } });
orders.orders.createIndex({ status: 1, updated_at: 1 }, { name: "status_updated" });
