//! GraphiQL on `GET /graphql`, served entirely from the binary: the page and the pinned npm assets
//! it loads (README.md in this folder names their versions, sources and sha256s), so it works with
//! no request leaving the host.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One vendored file, served at `/graphql/assets/<name>`.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

/// The vendored files. Their names carry their versions, so a browser may cache them for good.
pub const ASSETS: [Asset; 4] = [
    Asset {
        name: "react-18.3.1.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("react-18.3.1.production.min.js"),
    },
    Asset {
        name: "react-dom-18.3.1.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("react-dom-18.3.1.production.min.js"),
    },
    Asset {
        name: "graphiql-3.8.3.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("graphiql-3.8.3.min.js"),
    },
    Asset {
        name: "graphiql-3.8.3.min.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("graphiql-3.8.3.min.css"),
    },
];

/// The page. Asset paths are relative to `/graphql` so that the page also works behind a proxy
/// that mounts the admin API under a prefix; the fetcher posts JSON to the page's own path.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>peerlab admin API</title>
<link rel="stylesheet" href="graphql/assets/graphiql-3.8.3.min.css">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="graphql/assets/react-18.3.1.production.min.js"></script>
<script src="graphql/assets/react-dom-18.3.1.production.min.js"></script>
<script src="graphql/assets/graphiql-3.8.3.min.js"></script>
<script>
  const fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, { fetcher, defaultEditorToolbarTabs: 'headers' })
  );
</script>
</body>
</html>
"#;

/// `GET /graphql`: the page, revalidated on every load so that a new binary's page is seen.
pub async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
        .into_response()
}

/// `GET /graphql/assets/<name>`: a vendored file, or 404.
pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|asset| asset.name == name) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            asset.bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
