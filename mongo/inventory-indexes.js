// Indexes of the inventory database, mirroring inventory_subgraph/src/inventory/adapters/indexes.py
// (the service also creates them idempotently at start-up).
const inventory = db.getSiblingDB("inventory");
inventory.products.createIndex({ sku: 1 }, { name: "sku_unique", unique: true,
  partialFilterExpression: { sku: { $type: "string" } } });
inventory.products.createIndex({ name_key: 1, _id: 1 }, { name: "name_key_id" });
inventory.products.createIndex({ price: 1, _id: 1 }, { name: "price_id" });
inventory.products.createIndex({ created_at: 1, _id: 1 }, { name: "created_at_id" });
inventory.products.createIndex({ category: 1, created_at: -1 }, { name: "category" });
inventory.reservations.createIndex({ state: 1, lease_until: 1 }, { name: "state_lease" });
