// The studio's properties provider as a bpmn-js module (see MotcuaPropertiesProvider.js).
import MotcuaPropertiesProvider from './MotcuaPropertiesProvider';

export default {
  __init__: ['motcuaPropertiesProvider'],
  motcuaPropertiesProvider: ['type', MotcuaPropertiesProvider],
};
