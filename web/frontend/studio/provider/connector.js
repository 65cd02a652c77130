// A service task's connector call: spiffworkflow:serviceTaskOperator (id = "connector/operation",
// resultVariable) with its parameters (id, type, value = an expression the restricted evaluator runs).
import {
  ListGroup, SelectEntry, TextFieldEntry, isSelectEntryEdited, isTextFieldEntryEdited,
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';

import { addParameter, extensionOf, removeParameter, updateModdle, updateOperator } from '../extension';
import { useStudio } from './fields';

const OPERATOR = 'spiffworkflow:ServiceTaskOperator';

function operatorOf(element) {
  return extensionOf(element, OPERATOR);
}

function OperationSelect({ element, id }) {
  const translate = useService('translate');
  const injector = useService('injector');
  const catalog = useStudio();
  const current = () => (operatorOf(element) && operatorOf(element).get('id')) || '';
  return SelectEntry({
    element, id, label: translate('studio.operation'),
    getOptions: () => {
      const list = [...catalog.operations];
      if (current() && !list.some((o) => o.value === current())) list.unshift({ value: current(), label: current() });
      return [{ value: '', label: translate('studio.operation.none') }, ...list];
    },
    getValue: current,
    setValue: (value) => updateOperator(injector, element, { id: value || undefined }),
  });
}

function ResultVariable({ element, id }) {
  const translate = useService('translate');
  const injector = useService('injector');
  return TextFieldEntry({
    element, id, label: translate('studio.resultVariable'), debounce: useService('debounceInput'),
    getValue: () => (operatorOf(element) && operatorOf(element).get('resultVariable')) || '',
    setValue: (value) => updateOperator(injector, element, { resultVariable: (value || '').trim() || undefined }),
  });
}

export function connectorEntries() {
  return [
    { id: 'motcua-operation', component: OperationSelect, isEdited: isSelectEntryEdited },
    { id: 'motcua-result-variable', component: ResultVariable, isEdited: isTextFieldEntryEdited },
  ];
}

function parameterText(field, labelKey) {
  return function ParameterText({ element, id, parameter }) {
    const translate = useService('translate');
    const injector = useService('injector');
    return TextFieldEntry({
      element, id, label: translate(labelKey), debounce: useService('debounceInput'),
      getValue: () => parameter.get(field) || '',
      setValue: (value) => updateModdle(injector, element, parameter, { [field]: value || '' }),
    });
  };
}

const ParameterId = parameterText('id', 'studio.parameter.id');
const ParameterValue = parameterText('value', 'studio.parameter.value');

function ParameterType({ element, id, parameter }) {
  const translate = useService('translate');
  const injector = useService('injector');
  const catalog = useStudio();
  return SelectEntry({
    element, id, label: translate('studio.parameter.type'),
    getOptions: () => {
      const list = [...catalog.parameter_types];
      const current = parameter.get('type');
      if (current && !list.some((o) => o.value === current)) list.unshift({ value: current, label: current });
      return list;
    },
    getValue: () => parameter.get('type') || 'str',
    setValue: (value) => updateModdle(injector, element, parameter, { type: value }),
  });
}

export function parametersGroup(element, injector) {
  const translate = injector.get('translate');
  const operator = operatorOf(element);
  const list = operator && operator.get('parameterList');
  const parameters = list ? list.get('parameters') : [];
  const items = parameters.map((parameter, index) => {
    const prefix = `motcua-parameter-${index}`;
    return {
      id: prefix,
      label: parameter.get('id') || translate('studio.parameter.new'),
      entries: [
        { id: `${prefix}-id`, component: ParameterId, parameter, isEdited: isTextFieldEntryEdited },
        { id: `${prefix}-type`, component: ParameterType, parameter, isEdited: isSelectEntryEdited },
        { id: `${prefix}-value`, component: ParameterValue, parameter, isEdited: isTextFieldEntryEdited },
      ],
      autoFocusEntry: `${prefix}-id`,
      remove: () => removeParameter(injector, element, parameter),
    };
  });
  return {
    id: 'motcua-parameters',
    label: translate('studio.group.parameters'),
    component: ListGroup,
    translate,
    items,
    add: (event) => {
      event.stopPropagation();
      addParameter(injector, element, { id: `tham_so_${parameters.length + 1}`, type: 'str', value: '' });
    },
  };
}
