// Runs once, on the first start of the compose stack's MongoDB (docker-entrypoint-initdb.d).
// Each subgraph gets its own database and a user that can touch nothing else.
function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(name + " must be set");
  return value;
}
db.getSiblingDB("inventory").createUser({
  user: "inventory",
  pwd: required("INVENTORY_DB_PASSWORD"),
  roles: [{ role: "readWrite", db: "inventory" }],
});
db.getSiblingDB("orders").createUser({
  user: "orders",
  pwd: required("ORDERS_DB_PASSWORD"),
  roles: [{ role: "readWrite", db: "orders" }],
});
