// Small builders for the panel's entries: a select, a text field, a text area or a checkbox bound to
// one spiffworkflow property (or body) of the selected element. Each returns an entry component as
// the properties panel expects ({ id, component, isEdited }); labels go through `translate`, which
// reads the catalogue the server translated (web/pages/studio_catalog.py).
import {
  CheckboxEntry, SelectEntry, TextAreaEntry, TextFieldEntry,
  isCheckboxEntryEdited, isSelectEntryEdited, isTextAreaEntryEdited, isTextFieldEntryEdited,
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';

import { getBody, getProperty, setBody, setProperty } from '../extension';

export function useStudio() {
  return useService('config.motcua').catalog;
}

// options: (catalog, element, translate) => [{ value, label }]; none: label key of the empty choice
export function propertySelect(id, name, labelKey, options, noneKey) {
  function Component({ element }) {
    const translate = useService('translate');
    const injector = useService('injector');
    const catalog = useStudio();
    const current = getProperty(element, name);
    const getOptions = () => {
      const list = options(catalog, element, translate);
      if (current && !list.some((o) => o.value === current)) list.unshift({ value: current, label: current });
      return [{ value: '', label: translate(noneKey) }, ...list];
    };
    return SelectEntry({
      element, id, label: translate(labelKey), getOptions,
      getValue: () => getProperty(element, name),
      setValue: (value) => setProperty(injector, element, name, value),
    });
  }
  return { id, component: Component, isEdited: isSelectEntryEdited };
}

export function propertyText(id, name, labelKey) {
  function Component({ element }) {
    const translate = useService('translate');
    const injector = useService('injector');
    return TextFieldEntry({
      element, id, label: translate(labelKey), debounce: useService('debounceInput'),
      getValue: () => getProperty(element, name),
      setValue: (value) => setProperty(injector, element, name, (value || '').trim()),
    });
  }
  return { id, component: Component, isEdited: isTextFieldEntryEdited };
}

export function propertyCheckbox(id, name, label, translated = true) {
  function Component({ element }) {
    const translate = useService('translate');
    const injector = useService('injector');
    return CheckboxEntry({
      element, id, label: translated ? translate(label) : label,
      getValue: () => getProperty(element, name) === 'true',
      setValue: (checked) => setProperty(injector, element, name, checked ? 'true' : ''),
    });
  }
  return { id, component: Component, isEdited: isCheckboxEntryEdited };
}

// One checkbox per kind of a comma-separated list property (document, attachDocuments).
export function kindCheckboxes(idPrefix, name, kinds) {
  return kinds.map(({ value, label }) => {
    function Component({ element }) {
      const injector = useService('injector');
      const chosen = () => getProperty(element, name).split(',').map((k) => k.trim()).filter(Boolean);
      return CheckboxEntry({
        element, id: `${idPrefix}-${value}`, label,
        getValue: () => chosen().includes(value),
        setValue: (checked) => {
          const kinds = chosen().filter((k) => k !== value);
          if (checked) kinds.push(value);
          setProperty(injector, element, name, kinds.join(','));
        },
      });
    }
    return { id: `${idPrefix}-${value}`, component: Component, isEdited: isCheckboxEntryEdited };
  });
}

export function bodyTextArea(id, type, labelKey, { monospace = false, rows = 4 } = {}) {
  function Component({ element }) {
    const translate = useService('translate');
    const injector = useService('injector');
    return TextAreaEntry({
      element, id, label: translate(labelKey), debounce: useService('debounceInput'), monospace, rows,
      getValue: () => getBody(element, type),
      setValue: (value) => setBody(injector, element, type, value || ''),
    });
  }
  return { id, component: Component, isEdited: isTextAreaEntryEdited };
}
