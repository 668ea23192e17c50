// GitHub's avatar CDN, doubled for browser tests: a page's requests to
// https://avatars.githubusercontent.com/ are answered in the browser (a
// Playwright route) with an SVG image, so a dashboard shows GitHub avatar
// URLs as it would in production while nothing leaves the machine. Every
// request answered is recorded.
//
//   import { AVATAR_ORIGIN, avatarUrl, routeAvatars } from '../github-double/avatars.mjs';
//   avatarUrl(id)                 -> 'https://avatars.githubusercontent.com/u/ID?v=4' (GitHub's form)
//   const seen = await routeAvatars(context)   // a Playwright BrowserContext
//   seen                          -> [url, ...] requests answered so far
export const AVATAR_ORIGIN = 'https://avatars.githubusercontent.com';

export function avatarUrl(id) {
  return `${AVATAR_ORIGIN}/u/${id}?v=4`;
}

// A 40x40 circle whose colour comes from the user id in the path.
function image(url) {
  const id = Number(/\/u\/(\d+)/.exec(new URL(url).pathname)?.[1] || 0);
  const hue = (id * 47) % 360;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" viewBox="0 0 40 40">`
    + `<circle cx="20" cy="20" r="20" fill="hsl(${hue} 60% 55%)"/></svg>`;
}

export async function routeAvatars(context) {
  const seen = [];
  await context.route(`${AVATAR_ORIGIN}/**`, (route) => {
    const url = route.request().url();
    seen.push(url);
    return route.fulfill({ status: 200, contentType: 'image/svg+xml', body: image(url),
      headers: { 'cache-control': 'max-age=3600' } });
  });
  return seen;
}
