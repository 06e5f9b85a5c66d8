// Layout checks made in the page itself (real Chromium layout, computed styles).
import type { Locator, Page } from 'playwright-core';

/**
 * Boxes that scroll sideways: the document and the app's own scroll containers. Each entry
 * names the box and its widths, so a failure says where the overflow is.
 */
export async function horizontalOverflow(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const boxes = [document.scrollingElement!, ...document.querySelectorAll('header, main, .messages, .menu-panel, .banner')];
    return boxes
      .filter((el) => el.scrollWidth > el.clientWidth)
      .map((el) => `${el.tagName.toLowerCase()}${el.className ? `.${String(el.className).split(' ').join('.')}` : ''}: ${el.scrollWidth} > ${el.clientWidth}`);
  });
}

/**
 * WCAG 2 contrast ratio of an element's text against what is behind it, from computed styles:
 * the element's background over its ancestors' (down from the first opaque one), and the
 * element's own opacity (times its ancestors') applied to both.
 */
export async function textContrast(element: Locator): Promise<number> {
  return element.evaluate((el) => {
    type RGBA = [number, number, number, number];
    const parse = (css: string): RGBA => {
      const m = css.match(/^rgba?\(([^)]+)\)$/) ?? css.match(/^color\(srgb ([^)]+)\)$/);
      if (!m) throw new Error(`unparsed colour ${css}`);
      const parts = m[1]!.split(/[\s,/]+/).filter(Boolean).map(Number);
      const scale = css.startsWith('color(') ? 255 : 1;
      return [parts[0]! * scale, parts[1]! * scale, parts[2]! * scale, parts[3] ?? 1];
    };
    const over = (top: RGBA, below: RGBA): RGBA => {
      const a = top[3];
      return [top[0] * a + below[0] * (1 - a), top[1] * a + below[1] * (1 - a), top[2] * a + below[2] * (1 - a), 1];
    };
    const chain: Element[] = [];
    for (let n: Element | null = el; n; n = n.parentElement) chain.unshift(n);
    let backdrop: RGBA = [255, 255, 255, 1];
    let opacity = 1;
    for (const n of chain) {
      const style = getComputedStyle(n);
      opacity *= Number(style.opacity);
      if (n === el) break;
      backdrop = over(parse(style.backgroundColor), backdrop);
    }
    const style = getComputedStyle(el);
    const bg = over(parse(style.backgroundColor), backdrop);
    const fg = over(parse(style.color), bg);
    const seen = (c: RGBA) => over([c[0], c[1], c[2], opacity], backdrop);
    const luminance = ([r, g, b]: RGBA) => {
      const lin = (v: number) => {
        const s = v / 255;
        return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    };
    const [l1, l2] = [luminance(seen(fg)), luminance(seen(bg))].sort((a, b) => b - a) as [number, number];
    return (l1 + 0.05) / (l2 + 0.05);
  });
}
