// The dashboard's page and assets, embedded by scripts/build.mjs (URL path → body and type).
declare module 'nettune:web-assets' {
  const assets: Readonly<Record<string, { body: string; type: string }>>;
  export default assets;
}
