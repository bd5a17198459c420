/** Milliseconds since the epoch from an RFC 3339 timestamp (any number of fraction digits), or undefined. */
export function parseRfc3339(text: string): number | undefined {
  // Log timestamps mostly share their second with the previous line: parse "YYYY-MM-DDTHH:MM:SS" once per second
  // and add the milliseconds of a UTC ("Z") fraction by hand.
  if (text.length >= 21 && text.charCodeAt(19) === 46 /* . */ && text.charCodeAt(text.length - 1) === 90 /* Z */) {
    const second = text.slice(0, 19);
    if (second !== lastSecondText) {
      const ms = Date.parse(`${second}Z`);
      if (Number.isNaN(ms)) return undefined;
      lastSecondText = second;
      lastSecondMs = ms;
    }
    let frac = 0;
    let scale = 100;
    for (let i = 20; i < text.length - 1 && scale >= 1; i++, scale /= 10) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return slowParse(text);
      frac += d * scale;
    }
    return lastSecondMs + frac;
  }
  return slowParse(text);
}

let lastSecondText = '';
let lastSecondMs = 0;

function slowParse(text: string): number | undefined {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}
