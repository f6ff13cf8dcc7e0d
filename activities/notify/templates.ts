/** The words of each notice. Plain text; the delivery adapter turns it into email, SMS or push. */
export interface RenderedNotice {
  subject: string;
  body: string;
}

type Data = Record<string, string | number | boolean> | undefined;

const templates: Record<string, (data: Data) => RenderedNotice> = {
  welcome: (data) => ({
    subject: 'Welcome to your account center',
    body: [
      `Hello${data?.givenName ? ` ${data.givenName}` : ''},`,
      '',
      'Your account is ready. From your account center you can connect the services you use, see what',
      'each one shared with us, and disconnect any of them, keeping or deleting its data as you choose.',
      '',
      "If you did not create this account, reply to this message and we'll close it.",
    ].join('\n'),
  }),
};

export function renderNotice(template: string, data: Data): RenderedNotice {
  const render = templates[template];
  if (!render) throw new Error(`unknown notice template "${template}"`);
  return render(data);
}
