// Reading and writing SpiffWorkflow's extension elements on a BPMN element, always through the
// command stack (so every change undoes with Ctrl+Z and marks the diagram as changed).
//
//   <bpmn:extensionElements>
//     <spiffworkflow:properties><spiffworkflow:property name="dossierStatus" value="received"/></…>
//     <spiffworkflow:instructionsForEndUser>text</…>   (also preScript, postScript)
//     <spiffworkflow:serviceTaskOperator id="email/send" resultVariable="r"><spiffworkflow:parameters>…
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

export const PROPERTIES = 'spiffworkflow:Properties';

export function extensionOf(element, type) {
  const ext = getBusinessObject(element).get('extensionElements');
  return ext ? ext.get('values').find((value) => is(value, type)) : undefined;
}

export function getProperty(element, name) {
  const container = extensionOf(element, PROPERTIES);
  const property = container && container.get('values').find((p) => p.get('name') === name);
  return property ? property.get('value') || '' : '';
}

export function getBody(element, type) {
  const body = extensionOf(element, type);
  return body ? body.get('value') || '' : '';
}

function update(element, moddleElement, properties) {
  return { cmd: 'element.updateModdleProperties', context: { element, moddleElement, properties } };
}

// The element's extensionElements (created when missing); pushes the creating command.
function extensionElements(element, bpmnFactory, commands) {
  const bo = getBusinessObject(element);
  let ext = bo.get('extensionElements');
  if (!ext) {
    ext = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
    ext.$parent = bo;
    commands.push(update(element, bo, { extensionElements: ext }));
  }
  return ext;
}

function run(injector, commands) {
  if (commands.length) {
    injector.get('commandStack').execute('properties-panel.multi-command-executor', commands);
  }
}

// Set several spiffworkflow:property values at once ('' or null removes one); one undo step.
export function setProperties(injector, element, changes) {
  const bpmnFactory = injector.get('bpmnFactory');
  const commands = [];
  const adding = Object.values(changes).some((value) => value !== '' && value !== null && value !== undefined);
  if (!adding && !extensionOf(element, PROPERTIES)) return;  // nothing to remove, nothing to add
  const ext = extensionElements(element, bpmnFactory, commands);
  let container = ext.get('values').find((value) => is(value, PROPERTIES));
  const existing = container ? container.get('values') : [];
  const values = existing.filter((p) => !(p.get('name') in changes));
  for (const [name, value] of Object.entries(changes)) {
    if (value === '' || value === null || value === undefined) continue;
    const old = existing.find((p) => p.get('name') === name);
    if (old && old.get('value') === value) {
      values.push(old);
      continue;
    }
    const property = bpmnFactory.create('spiffworkflow:Property', { name, value: String(value) });
    values.push(property);
  }
  // keep the original order of the properties that stay, new ones at the end
  const order = (p) => { const i = existing.findIndex((o) => o.get('name') === p.get('name')); return i < 0 ? 1e6 : i; };
  values.sort((a, b) => order(a) - order(b));
  if (!container) {
    container = bpmnFactory.create(PROPERTIES, { values: [] });
    container.$parent = ext;
    commands.push(update(element, ext, { values: [...ext.get('values'), container] }));
  }
  values.forEach((p) => { p.$parent = container; });
  if (!values.length) {
    commands.push(update(element, ext, { values: ext.get('values').filter((v) => v !== container) }));
  } else {
    commands.push(update(element, container, { values }));
  }
  run(injector, commands);
}

export function setProperty(injector, element, name, value) {
  setProperties(injector, element, { [name]: value });
}

// Set (or with '' remove) a text-bodied extension such as spiffworkflow:InstructionsForEndUser.
export function setBody(injector, element, type, value) {
  const bpmnFactory = injector.get('bpmnFactory');
  const commands = [];
  const ext = extensionElements(element, bpmnFactory, commands);
  const current = ext.get('values').find((v) => is(v, type));
  if (!value) {
    if (current) commands.push(update(element, ext, { values: ext.get('values').filter((v) => v !== current) }));
  } else if (current) {
    commands.push(update(element, current, { value }));
  } else {
    const body = bpmnFactory.create(type, { value });
    body.$parent = ext;
    commands.push(update(element, ext, { values: [...ext.get('values'), body] }));
  }
  run(injector, commands);
}

// The service task's operator, created on demand with its (empty) parameter list.
export function ensureOperator(injector, element, commands) {
  const bpmnFactory = injector.get('bpmnFactory');
  const ext = extensionElements(element, bpmnFactory, commands);
  let operator = ext.get('values').find((v) => is(v, 'spiffworkflow:ServiceTaskOperator'));
  if (!operator) {
    operator = bpmnFactory.create('spiffworkflow:ServiceTaskOperator', {});
    operator.$parent = ext;
    commands.push(update(element, ext, { values: [...ext.get('values'), operator] }));
  }
  let list = operator.get('parameterList');
  if (!list) {
    list = bpmnFactory.create('spiffworkflow:Parameters', { parameters: [] });
    list.$parent = operator;
    commands.push(update(element, operator, { parameterList: list }));
  }
  return { operator, list };
}

export function updateOperator(injector, element, properties) {
  const commands = [];
  const { operator } = ensureOperator(injector, element, commands);
  commands.push(update(element, operator, properties));
  run(injector, commands);
}

export function addParameter(injector, element, defaults) {
  const commands = [];
  const { list } = ensureOperator(injector, element, commands);
  const parameter = injector.get('bpmnFactory').create('spiffworkflow:Parameter', defaults);
  parameter.$parent = list;
  commands.push(update(element, list, { parameters: [...list.get('parameters'), parameter] }));
  run(injector, commands);
}

export function removeParameter(injector, element, parameter) {
  const list = parameter.$parent;
  run(injector, [update(element, list, { parameters: list.get('parameters').filter((p) => p !== parameter) })]);
}

export function updateModdle(injector, element, moddleElement, properties) {
  run(injector, [update(element, moddleElement, properties)]);
}
