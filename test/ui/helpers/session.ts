import { expect } from 'vitest';
import type { TestReef } from '../../helpers/server.js';

export interface UiSessionCookie {
  cookie: string;
  csrf: string;
}

const cookieOf = (res: Response): string => {
  const set = res.headers.get('set-cookie') ?? '';
  const m = /reef_ui=([^;]*)/.exec(set);
  expect(m, `a reef_ui cookie in ${set}`).toBeTruthy();
  return `reef_ui=${m![1]}`;
};

/** The CSRF token a page hands its forms. */
export const csrfIn = (html: string): string => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

/** Signs in through the login form, as a browser does: visitor cookie and CSRF first, then the token. */
export const signIn = async (reef: TestReef, token: string): Promise<UiSessionCookie> => {
  const form = await reef.req('/ui/login');
  const visitor = cookieOf(form);
  const loginCsrf = csrfIn(await form.text());
  const res = await reef.req('/ui/login', {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: visitor, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: loginCsrf, token, next: '/ui' }).toString(),
  });
  expect(res.status).toBe(303);
  const cookie = cookieOf(res);
  const page = await reef.req('/ui', { headers: { cookie } });
  expect(page.status).toBe(200);
  return { cookie, csrf: csrfIn(await page.text()) };
};

/** A form POST under a session, with the CSRF token given (or none). */
export const postForm = (reef: TestReef, path: string, session: { cookie: string }, fields: Record<string, string>) =>
  reef.req(path, { method: 'POST', redirect: 'manual', headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
