"""The fixed GraphQL operations behind the REST routes. They run in-process through the
gateway's own pipeline (parsed, validated and planned once, then cached)."""

from __future__ import annotations

__all__ = [
    "ADJUST_STOCK",
    "CREATE_ORDER",
    "CREATE_PRODUCT",
    "DELETE_PRODUCT",
    "GET_ORDER",
    "GET_PRODUCT",
    "LIST_ORDERS",
    "LIST_PRODUCTS",
    "ORDER_EVENTS",
    "REST_OPERATIONS",
    "UPDATE_ORDER_STATUS",
    "UPDATE_PRODUCT",
]

# `version` is not in the REST body: it becomes the product's ETag
PRODUCT_FIELDS = "id sku name description category price currency stock createdAt updatedAt version"
ORDER_FIELDS = (
    "id userId status total currency createdAt updatedAt "
    "items { productId name unitPrice quantity lineTotal }"
)

CREATE_PRODUCT = f"""mutation RestCreateProduct($input: CreateProductInput!) {{
  createProduct(input: $input) {{ {PRODUCT_FIELDS} }} }}"""
GET_PRODUCT = f"""query RestGetProduct($id: ID!) {{ product(id: $id) {{ {PRODUCT_FIELDS} }} }}"""
UPDATE_PRODUCT = f"""mutation RestUpdateProduct($id: ID!, $input: UpdateProductInput!,
    $version: Int) {{
  updateProduct(id: $id, input: $input, expectedVersion: $version) {{ {PRODUCT_FIELDS} }} }}"""
ADJUST_STOCK = f"""mutation RestAdjustStock($id: ID!, $delta: Int!) {{
  adjustStock(id: $id, delta: $delta) {{ {PRODUCT_FIELDS} }} }}"""
DELETE_PRODUCT = """mutation RestDeleteProduct($id: ID!) { deleteProduct(id: $id) }"""
LIST_PRODUCTS = f"""query RestListProducts($filter: ProductFilter, $sort: ProductSort!,
    $limit: Int!, $offset: Int, $cursor: String) {{
  products(filter: $filter, sort: $sort, limit: $limit, offset: $offset, cursor: $cursor) {{
    items {{ {PRODUCT_FIELDS} }} total totalPrecision limit offset nextCursor }} }}"""

CREATE_ORDER = f"""mutation RestCreateOrder($input: CreateOrderInput!, $key: String) {{
  createOrder(input: $input, idempotencyKey: $key) {{ {ORDER_FIELDS} }} }}"""
GET_ORDER = f"""query RestGetOrder($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}"""
UPDATE_ORDER_STATUS = f"""mutation RestUpdateOrderStatus($id: ID!, $status: OrderStatus!) {{
  updateOrderStatus(id: $id, status: $status) {{ {ORDER_FIELDS} }} }}"""
ORDER_EVENTS = f"""subscription RestOrderEvents($id: ID!) {{
  orderUpdated(id: $id) {{ {ORDER_FIELDS} }} }}"""
LIST_ORDERS = f"""query RestListOrders($status: OrderStatus, $userId: ID, $limit: Int!,
    $offset: Int, $cursor: String) {{
  orders(status: $status, userId: $userId, limit: $limit, offset: $offset, cursor: $cursor) {{
    items {{ {ORDER_FIELDS} }} total totalPrecision limit offset nextCursor }} }}"""

# every route's document: prepared when a supergraph is loaded, so no client pays for it
REST_OPERATIONS = (
    CREATE_PRODUCT,
    GET_PRODUCT,
    UPDATE_PRODUCT,
    ADJUST_STOCK,
    DELETE_PRODUCT,
    LIST_PRODUCTS,
    CREATE_ORDER,
    GET_ORDER,
    UPDATE_ORDER_STATUS,
    LIST_ORDERS,
    ORDER_EVENTS,
)
