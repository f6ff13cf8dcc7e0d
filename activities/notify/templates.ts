/** Turns a notice's template name and data into its words, from the templates the features handed in. */
import type { NoticeData, NoticeTemplates, RenderedNotice } from './port.js';

export type { NoticeTemplates, RenderedNotice } from './port.js';

export type NoticeRenderer = (template: string, data: NoticeData) => RenderedNotice;

/** The templates of several features as one set; a name two features both claim is refused, not overwritten. */
export function combineNoticeTemplates(...sets: NoticeTemplates[]): NoticeTemplates {
  const combined: Record<string, NoticeTemplates[string]> = {};
  for (const set of sets) {
    for (const [name, render] of Object.entries(set)) {
      if (Object.hasOwn(combined, name)) throw new Error(`notice template "${name}" is declared twice`);
      combined[name] = render;
    }
  }
  return Object.freeze(combined);
}

export function noticeRenderer(templates: NoticeTemplates): NoticeRenderer {
  return (template, data) => {
    const render = Object.hasOwn(templates, template) ? templates[template] : undefined;
    if (!render) throw new Error(`unknown notice template "${template}"`);
    return render(data);
  };
}
