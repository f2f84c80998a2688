// Mounts GraphiQL, with the Explorer plugin, against this gateway's /graphql. Headers typed in
// the headers editor (e.g. {"Authorization": "Bearer <token>"}) are sent with every request.
(function () {
  // @defer: the gateway sends parts only to a client naming the incremental delivery spec it
  // reads (GraphiQL's own Accept names none, and would get whole answers)
  // Subscriptions go over a WebSocket to the same /graphql (graphql-transport-ws, GraphiQL's
  // bundled graphql-ws client); the headers typed in the editor go with its connection_init,
  // where the gateway reads the Authorization a browser cannot put on a WebSocket's upgrade.
  var origin = window.location.origin;
  var fetcher = GraphiQL.createFetcher({
    url: origin + "/graphql",
    subscriptionUrl: origin.replace(/^http/, "ws") + "/graphql",
    headers: { accept: "application/json, multipart/mixed;deferSpec=20220824" },
  });
  var explorer = GraphiQLPluginExplorer.explorerPlugin();
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  var initialQuery = "# Get a token: make token SUB=alice ROLE=customer\n" +
    "# and put {\"Authorization\": \"Bearer <token>\"} in the headers tab.\n" +
    "{\n  products(limit: 5) {\n    total\n    items { id name price stock }\n  }\n}\n";
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultQuery: initialQuery,
    plugins: [explorer],
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: true,
  }));
})();
