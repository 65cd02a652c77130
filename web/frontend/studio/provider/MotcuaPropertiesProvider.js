// Our groups in the properties panel: every BPMN property the engine reads (docs/procedure-packages.md)
// plus the two the studio writes into the editor's copy (lane `role`, task `stepBudget`), which the
// server reads back into procedure.json on save. bpmn-js-properties-panel's own BPMN provider keeps
// the general (name, id), documentation and timer groups.
import {
  Group, SelectEntry, TextAreaEntry, TextFieldEntry,
  isSelectEntryEdited, isTextAreaEntryEdited, isTextFieldEntryEdited,
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject, is, isAny } from 'bpmn-js/lib/util/ModelUtil';

import { getProperty, setProperties, updateModdle } from '../extension';
import { connectorEntries, parametersGroup } from './connector';
import {
  bodyTextArea, kindCheckboxes, propertyCheckbox, propertySelect, propertyText, useStudio,
} from './fields';

const LOW_PRIORITY = 500;
const FORM_SCHEMA = 'formJsonSchemaFilename';
const FORM_UI = 'formUiSchemaFilename';
const SCHEMA_SUFFIX = '-schema.json';

// "0.5 working_days" <-> { value: "0.5", unit: "working_days" }; "same_day" needs no number;
// "2 working_days since lay_y_kien" (counted from an earlier step's opening, set in procedure.json)
// keeps its `since` when the value or unit changes here
// (engine/procedures/editor_properties.py reads it back into procedure.json's step_budgets)
const SAME_DAY = 'same_day';

export function parseBudget(text) {
  const [amount, since] = (text || '').trim().split(/\s+since\s+/);
  const parts = amount.split(/\s+/).filter(Boolean);
  if (parts.length === 1) return { value: '', unit: parts[0], since: since || '' };
  return { value: parts[0] || '', unit: parts[1] || '', since: since || '' };
}

function budgetNumber(text) {
  const normalised = (text || '').trim().replace(',', '.');
  return /^\d+(\.\d+)?$/.test(normalised) && Number(normalised) > 0 ? normalised : null;
}

function setBudget(injector, element, value, unit) {
  let text = '';
  if (unit === SAME_DAY) text = SAME_DAY;
  else if (unit && value) text = `${value} ${unit}`;
  const { since } = parseBudget(getProperty(element, 'stepBudget'));
  if (text && since) text = `${text} since ${since}`;
  setProperties(injector, element, { stepBudget: text });
}

function BudgetUnit({ element, id }) {
  const translate = useService('translate');
  const injector = useService('injector');
  const catalog = useStudio();
  return SelectEntry({
    element, id, label: translate('studio.budget.unit'),
    getOptions: () => [{ value: '', label: translate('studio.budget.none') }, ...catalog.budget_units],
    getValue: () => parseBudget(getProperty(element, 'stepBudget')).unit,
    // a unit picked before any number counts one of it, which the analyst then changes
    setValue: (unit) => setBudget(injector, element, parseBudget(getProperty(element, 'stepBudget')).value || '1', unit),
  });
}

function BudgetValue({ element, id }) {
  const translate = useService('translate');
  const injector = useService('injector');
  const budget = () => parseBudget(getProperty(element, 'stepBudget'));
  return TextFieldEntry({
    element, id, label: translate('studio.budget.value'), debounce: useService('debounceInput'),
    disabled: !budget().unit || budget().unit === SAME_DAY,
    getValue: () => budget().value,
    validate: (value) => (!value || !value.trim() || budgetNumber(value) ? null : translate('studio.budget.invalid')),
    setValue: (value) => {
      const number = budgetNumber(value);
      if (value && value.trim() && !number) return;
      setBudget(injector, element, number || '', budget().unit);
    },
  });
}

function FormSelect({ element, id }) {
  const translate = useService('translate');
  const injector = useService('injector');
  const catalog = useStudio();
  const current = () => {
    const file = getProperty(element, FORM_SCHEMA);
    return file.endsWith(SCHEMA_SUFFIX) ? file.slice(0, -SCHEMA_SUFFIX.length) : file.replace(/\.json$/, '');
  };
  return SelectEntry({
    element, id, label: translate('studio.form'),
    getOptions: () => {
      const options = catalog.forms.map((name) => ({ value: name, label: name }));
      if (current() && !catalog.forms.includes(current())) {
        options.unshift({ value: current(), label: translate('studio.form.missing', { name: current() }) });
      }
      return [{ value: '', label: translate('studio.form.none') }, ...options];
    },
    getValue: current,
    setValue: (name) => setProperties(injector, element, {
      [FORM_SCHEMA]: name ? `${name}${SCHEMA_SUFFIX}` : '',
      [FORM_UI]: name ? `${name}-uischema.json` : '',
    }),
  });
}

function ScriptBody({ element, id }) {
  const translate = useService('translate');
  const injector = useService('injector');
  const bo = getBusinessObject(element);
  return TextAreaEntry({
    element, id, label: translate('studio.script'), debounce: useService('debounceInput'), monospace: true, rows: 8,
    getValue: () => bo.get('script') || '',
    setValue: (value) => updateModdle(injector, element, bo, { script: value || undefined }),
  });
}

function ConditionBody({ element, id }) {
  const translate = useService('translate');
  const injector = useService('injector');
  const bo = getBusinessObject(element);
  return TextAreaEntry({
    element, id, label: translate('studio.condition'), debounce: useService('debounceInput'), monospace: true, rows: 2,
    getValue: () => (bo.get('conditionExpression') && bo.get('conditionExpression').get('body')) || '',
    setValue: (value) => {
      let expression;
      if (value && value.trim()) {
        expression = injector.get('bpmnFactory').create('bpmn:FormalExpression', { body: value });
        expression.$parent = bo;
      }
      updateModdle(injector, element, bo, { conditionExpression: expression });
    },
  });
}

function group(id, label, entries) {
  return entries.length ? { id, label, component: Group, entries } : null;
}

function hasCondition(element) {
  if (!is(element, 'bpmn:SequenceFlow')) return false;
  const source = getBusinessObject(element).get('sourceRef');
  if (!source || (source.get('default') === getBusinessObject(element))) return false;
  if (isAny(source, ['bpmn:ExclusiveGateway', 'bpmn:InclusiveGateway'])) return true;
  // a conditional flow out of a task (drawn as one through "Change element")
  return is(source, 'bpmn:Activity') && !!getBusinessObject(element).get('conditionExpression');
}

function studioGroups(element, injector, catalog) {
  const translate = injector.get('translate');
  const groups = [];
  if (is(element, 'bpmn:Lane')) {
    groups.push(group('motcua-lane', translate('studio.group.lane'), [
      propertySelect('motcua-role', 'role', 'studio.role', (c) => [...c.roles], 'studio.role.none'),
      propertyText('motcua-agency', 'agency', 'studio.agency'),
    ]));
  }
  if (is(element, 'bpmn:UserTask')) {
    groups.push(group('motcua-form', translate('studio.group.form'), [
      { id: 'motcua-form', component: FormSelect, isEdited: isSelectEntryEdited },
      bodyTextArea('motcua-instructions', 'spiffworkflow:InstructionsForEndUser', 'studio.instructions'),
      propertyCheckbox('motcua-payment-task', 'paymentTask', 'studio.paymentTask'),
      propertyCheckbox('motcua-exchange-reply', 'exchangeReply', 'studio.exchangeReply'),
    ]));
  } else if (is(element, 'bpmn:ManualTask')) {
    groups.push(group('motcua-form', translate('studio.group.form'), [
      bodyTextArea('motcua-instructions', 'spiffworkflow:InstructionsForEndUser', 'studio.instructions'),
    ]));
  }
  if (is(element, 'bpmn:ServiceTask')) {
    groups.push(group('motcua-connector', translate('studio.group.connector'), connectorEntries()));
    groups.push(parametersGroup(element, injector));
    groups.push(group('motcua-attachments', translate('studio.group.attachments'),
      kindCheckboxes('motcua-attach', 'attachDocuments', catalog.document_kinds)));
  }
  if (is(element, 'bpmn:Activity')) {
    groups.push(group('motcua-budget', translate('studio.group.budget'), [
      { id: 'motcua-budget-unit', component: BudgetUnit, isEdited: isSelectEntryEdited },
      { id: 'motcua-budget-value', component: BudgetValue, isEdited: isTextFieldEntryEdited },
    ]));
  }
  if (isAny(element, ['bpmn:Activity', 'bpmn:Event'])) {
    groups.push(group('motcua-dossier', translate('studio.group.dossier'), [
      propertySelect('motcua-dossier-status', 'dossierStatus', 'studio.dossierStatus', (c) => [...c.statuses],
        'studio.dossierStatus.none'),
      propertyText('motcua-milestone', 'milestone', 'studio.milestone'),
      propertySelect('motcua-deadline-rule', 'deadlineRule', 'studio.deadlineRule',
        (c) => c.deadline_rules.map((rule) => ({ value: rule, label: rule })), 'studio.deadlineRule.none'),
    ]));
    groups.push(group('motcua-documents', translate('studio.group.documents'),
      kindCheckboxes('motcua-document', 'document', catalog.document_kinds)));
  }
  const scripts = [];
  if (is(element, 'bpmn:ScriptTask')) {
    scripts.push({ id: 'motcua-script', component: ScriptBody, isEdited: isTextAreaEntryEdited });
  }
  if (is(element, 'bpmn:Activity')) {
    scripts.push(bodyTextArea('motcua-pre-script', 'spiffworkflow:PreScript', 'studio.preScript', { monospace: true }));
    scripts.push(bodyTextArea('motcua-post-script', 'spiffworkflow:PostScript', 'studio.postScript', { monospace: true }));
  }
  groups.push(group('motcua-script', translate('studio.group.script'), scripts));
  if (hasCondition(element)) {
    groups.push(group('motcua-condition', translate('studio.group.condition'), [
      { id: 'motcua-condition', component: ConditionBody, isEdited: isTextAreaEntryEdited },
    ]));
  }
  return groups.filter(Boolean);
}

export default class MotcuaPropertiesProvider {
  constructor(propertiesPanel, injector, config) {
    this._injector = injector;
    this._catalog = (config && config.catalog) || {};
    propertiesPanel.registerProvider(LOW_PRIORITY, this);
  }

  getGroups(element) {
    return (groups) => {
      const ours = studioGroups(element, this._injector, this._catalog);
      const general = groups.findIndex((g) => g.id === 'general');
      groups.splice(general + 1, 0, ...ours);
      return groups;
    };
  }
}

MotcuaPropertiesProvider.$inject = ['propertiesPanel', 'injector', 'config.motcua'];
