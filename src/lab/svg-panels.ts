// Several charts of svg.ts in one SVG document: a grid of panels under one title. Each panel is a
// complete chart (nested <svg> elements are valid SVG and keep their own viewBox); charts given
// here must have distinct clip ids (the `clipId` option), since ids are document-wide.
import { escapeXml } from './svg.js';

export interface PanelGridOptions {
  title: string;
  /** Complete SVG documents from lineChart/cdfChart, all of the same width and height. */
  panels: readonly string[];
  columns: number;
  panelWidth: number;
  panelHeight: number;
  /** One line under the title (what the panels show, how the values were measured). */
  subtitle?: string;
}

const HEAD = 56;

export function panelGrid(o: PanelGridOptions): string {
  const cols = Math.max(1, Math.min(o.columns, o.panels.length || 1));
  const rows = Math.max(1, Math.ceil(o.panels.length / cols));
  const width = cols * o.panelWidth;
  const height = HEAD + rows * o.panelHeight;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<title>${escapeXml(o.title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="17" font-weight="600" fill="#222">${escapeXml(o.title)}</text>`,
  ];
  if (o.subtitle) out.push(`<text x="${width / 2}" y="44" text-anchor="middle" font-size="12" fill="#555">${escapeXml(o.subtitle)}</text>`);
  o.panels.forEach((svg, i) => {
    const x = (i % cols) * o.panelWidth;
    const y = HEAD + Math.floor(i / cols) * o.panelHeight;
    // the panel's own root element, placed: drop its namespace (inherited) and add x/y
    out.push(svg.replace(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" /, `<svg x="${x}" y="${y}" `).trimEnd());
  });
  if (!o.panels.length) out.push(`<text x="${width / 2}" y="${HEAD + o.panelHeight / 2}" text-anchor="middle" fill="#888" font-size="14">no data</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
