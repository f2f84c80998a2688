// Mounts GraphiQL against this gateway's /graphql. Headers typed in the headers editor
// (e.g. {"Authorization": "Bearer <token>"}) are sent with every request.
(function () {
  var fetcher = GraphiQL.createFetcher({ url: window.location.origin + "/graphql" });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  var initialQuery = "# Get a token: make token SUB=alice ROLE=customer\n" +
    "# and put {\"Authorization\": \"Bearer <token>\"} in the headers tab.\n" +
    "{\n  products(limit: 5) {\n    total\n    items { id name price stock }\n  }\n}\n";
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultQuery: initialQuery,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: true,
  }));
  // ?run=1 presses the run button once the editor is up (used by the browser test).
  if (new URLSearchParams(window.location.search).get("run") === "1") {
    var tries = 0;
    var timer = setInterval(function () {
      var button = document.querySelector(".graphiql-execute-button");
      if (button || ++tries > 100) {
        clearInterval(timer);
        if (button) button.click();
      }
    }, 100);
  }
})();
