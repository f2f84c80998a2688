// Indexes of the inventory database, mirroring inventory_subgraph/src/inventory/adapters/indexes.py
// (the service also creates them idempotently at start-up, and drops the listing indexes of
// earlier releases).
const inventory = db.getSiblingDB("inventory");
inventory.products.createIndex({ sku: 1 }, { name: "sku_unique", unique: true,
  partialFilterExpression: { sku: { $type: "string" } } });
// listings: each sort's key in the catalog (kg_) and within a category (kc_), and the sparse
// fences (fg_, fc_) that bound every read of them
for (const sort of ["name", "price", "created"]) {
  for (const scope of ["g", "c"]) {
    inventory.products.createIndex({ [`k${scope}_${sort}`]: 1 }, { name: `k${scope}_${sort}` });
    inventory.products.createIndex({ [`f${scope}_${sort}`]: 1 },
      { name: `f${scope}_${sort}`, sparse: true });
  }
}
// the catalog's products out of stock: each sort's key again (ko_), only on them (the catalog's
// fences bound their ranges)
for (const sort of ["name", "price", "created"]) {
  inventory.products.createIndex({ [`ko_${sort}`]: 1 }, { name: `ko_${sort}`, sparse: true });
}
// text in the name: the products holding a three-character piece (in the catalog's order of
// creation), and a sample of them
inventory.products.createIndex({ grams: 1, kg_created: 1 }, { name: "grams_created" });
inventory.products.createIndex({ sample_grams: 1 }, { name: "sample_grams", sparse: true });
inventory.reservations.createIndex({ state: 1, lease_until: 1 }, { name: "state_lease" });
