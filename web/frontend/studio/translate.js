// bpmn-js's `translate` service answered from the catalogue the server translated
// (GET /thiet-ke/danh-muc.json → labels): bpmn-js, diagram-js and the properties panel look their
// English source text up, our own entries use `studio.*` keys. Unknown texts stay as they are.
export function translator(labels) {
  return function translate(template, replacements) {
    const text = (labels && labels[template]) || template;
    // our labels come from gettext with %(name)s placeholders, bpmn-js's with {name}
    return text.replace(/%\((\w+)\)s|\{(\w+)\}/g, (match, gettextKey, bpmnKey) => {
      const key = gettextKey || bpmnKey;
      return replacements && key in replacements ? String(replacements[key]) : match;
    });
  };
}

export function translateModule(labels) {
  return { translate: ['value', translator(labels)] };
}
