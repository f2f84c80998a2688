// Mounts GraphiQL, with the Explorer plugin, against this gateway's /graphql. Headers typed in
// the headers editor (e.g. {"Authorization": "Bearer <token>"}) are sent with every request.
(function () {
  var fetcher = GraphiQL.createFetcher({ url: window.location.origin + "/graphql" });
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
