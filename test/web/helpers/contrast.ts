// Text contrast as a person sees it on the page, checked against WCAG 2 AA (4.5:1 for body
// text). Colours come from getComputedStyle, so the check follows style.css in both schemes.
// The colour behind a piece of text is the stack of its ancestors' backgrounds, blended where
// they are translucent, and an ancestor's opacity fades text and background alike toward
// whatever is behind that ancestor (the way a faded "sending" bubble once failed AA).
import type { Page } from 'playwright-core';

export const WCAG_AA_TEXT = 4.5;

export interface ContrastReading {
  selector: string;
  text: string;
  ratio: number;
}

/** The contrast of every visible element each selector matches; a selector that matches nothing throws. */
export async function readContrast(page: Page, selectors: string[]): Promise<ContrastReading[]> {
  const readings = await page.evaluate((selectors) => {
    type Rgba = [number, number, number, number];
    const parse = (css: string): Rgba => {
      const parts = css.match(/[\d.]+/g)?.map(Number) ?? [0, 0, 0, 0];
      return [parts[0]!, parts[1]!, parts[2]!, parts[3] ?? 1];
    };
    /** `top` painted over an opaque `bottom`. */
    const over = (top: Rgba, bottom: Rgba): Rgba => {
      const a = top[3];
      return [0, 1, 2].map((i) => top[i]! * a + bottom[i]! * (1 - a)).concat(1) as Rgba;
    };
    const fade = (content: Rgba, behind: Rgba, opacity: number): Rgba => over([content[0], content[1], content[2], opacity], behind);
    const luminance = (color: Rgba): number => {
      const [r, g, b] = [0, 1, 2].map((i) => {
        const c = color[i]! / 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
    };

    function measure(element: Element): number {
      const chain: Element[] = [];
      for (let node: Element | null = element; node; node = node.parentElement) chain.push(node);
      // behind[i]: what shows through behind chain[i]'s own background, outermost first.
      const behind: Rgba[] = new Array(chain.length);
      let below: Rgba = [255, 255, 255, 1];
      for (let i = chain.length - 1; i >= 0; i--) {
        behind[i] = below;
        below = over(parse(getComputedStyle(chain[i]!).backgroundColor), below);
      }
      let background = below;
      let text = over(parse(getComputedStyle(element).color), background);
      // Opacity groups, innermost first: each fades its whole content toward what is behind it.
      for (let i = 0; i < chain.length; i++) {
        const opacity = Number(getComputedStyle(chain[i]!).opacity);
        if (opacity < 1) {
          background = fade(background, behind[i]!, opacity);
          text = fade(text, behind[i]!, opacity);
        }
      }
      const [light, dark] = [luminance(text), luminance(background)].sort((a, b) => b - a);
      return (light! + 0.05) / (dark! + 0.05);
    }

    const found: { selector: string; text: string; ratio: number }[] = [];
    const missing: string[] = [];
    for (const selector of selectors) {
      const elements = [...document.querySelectorAll(selector)].filter((element) => {
        const rect = element.getBoundingClientRect();
        return rect.width > 1 && rect.height > 1 && getComputedStyle(element).visibility === 'visible';
      });
      if (elements.length === 0) missing.push(selector);
      for (const element of elements) {
        found.push({ selector, text: (element.textContent ?? '').trim().slice(0, 40), ratio: Math.round(measure(element) * 100) / 100 });
      }
    }
    return { found, missing };
  }, selectors);
  if (readings.missing.length > 0) throw new Error(`no visible element for ${readings.missing.join(', ')}`);
  return readings.found;
}

/** Readings below AA, as sentences for an assertion message (empty when all pass). */
export async function lowContrast(page: Page, selectors: string[]): Promise<string[]> {
  return (await readContrast(page, selectors))
    .filter((reading) => reading.ratio < WCAG_AA_TEXT)
    .map((reading) => `${reading.selector} "${reading.text}" is ${reading.ratio}:1`);
}
