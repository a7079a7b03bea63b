// The one API reference, /api/docs (the gateway routes it to the portal's static server): Swagger UI from the
// pinned swagger-ui-dist package, served from our origin (no CDN, works offline, fits the portal's CSP), showing
// contracts/api-reference.json (every service's OpenAPI merged by tools/contracts/api_reference.py).
// Runs after `vite build`: writes dist/api/docs/.
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const swaggerUi = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const out = join(here, "..", "dist", "api", "docs");

mkdirSync(out, { recursive: true });
for (const file of ["swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"]) {
  copyFileSync(join(swaggerUi, file), join(out, file));
}
copyFileSync(join(here, "..", "..", "contracts", "api-reference.json"), join(out, "openapi.json"));
// Scripts from files only: the portal's Content-Security-Policy allows no inline script.
writeFileSync(
  join(out, "init.js"),
  `window.ui = SwaggerUIBundle({
  url: "/api/docs/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
`,
);
writeFileSync(
  join(out, "index.html"),
  `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Jesh Storage API reference</title>
    <link rel="stylesheet" href="/api/docs/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/api/docs/swagger-ui-bundle.js"></script>
    <script src="/api/docs/init.js"></script>
  </body>
</html>
`,
);
console.log(`wrote ${out}`);
