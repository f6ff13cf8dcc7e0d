/** The sandbox's server-rendered pages: plain HTML that works without JavaScript and reads well to a plain HTTP client. */

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const style = `body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}code{background:#f1f1f1;padding:0 .25rem}label{display:block;margin:.75rem 0}
input[type=text],input[type=email]{display:block;width:100%;padding:.4rem;margin-top:.25rem;box-sizing:border-box}
button{padding:.5rem 1.2rem;margin-right:.5rem}.error{color:#a00}.note{color:#666;font-size:.9rem}`;

/** `title` is text; `body` is HTML the caller has escaped. */
export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title><style>${style}</style></head>
<body>
${body}
</body>
</html>
`;
}
