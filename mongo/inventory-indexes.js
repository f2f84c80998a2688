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
// the catalog's products out of stock: each sort's key (ko_) and fences (fo_) again, only on them
for (const sort of ["name", "price", "created"]) {
  for (const kind of ["k", "f"]) {
    inventory.products.createIndex({ [`${kind}o_${sort}`]: 1 }, { name: `${kind}o_${sort}`, sparse: true });
  }
}
// text in the name: the products holding a three-character piece, and a sample of them
inventory.products.createIndex({ grams: 1 }, { name: "grams" });
inventory.products.createIndex({ sample_grams: 1 }, { name: "sample_grams", sparse: true });
inventory.reservations.createIndex({ state: 1, lease_until: 1 }, { name: "state_lease" });
