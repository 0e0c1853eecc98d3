// Chinese for bpmn-js's and the properties panel's own texts (a `translate` override). Strings
// not listed stay English; in the English UI nothing is translated.
import { lang } from '../lib/page.js';

const ZH = {
  'Activate create/remove space tool': '插入/删除空间', 'Activate global connect tool': '连接工具',
  'Activate hand tool': '抓手工具', 'Activate lasso tool': '框选工具',
  'Add lane above': '在上方添加泳道', 'Add lane below': '在下方添加泳道', 'Add text annotation': '添加注释',
  'Append end event': '追加结束事件', 'Append gateway': '追加网关', 'Append intermediate/boundary event': '追加中间事件',
  'Append task': '追加任务', 'Append timer intermediate catch event': '追加定时事件',
  'Append message intermediate catch event': '追加消息事件', 'Append receive task': '追加接收任务',
  'Change element': '更改类型', 'Connect to other element': '连接到其他元素', 'Connect using association': '关联连接',
  'Create data object reference': '创建数据对象', 'Create data store reference': '创建数据存储',
  'Create end event': '创建结束事件', 'Create expanded sub-process': '创建子流程', 'Create gateway': '创建网关',
  'Create group': '创建分组', 'Create intermediate/boundary event': '创建中间事件', 'Create pool/participant': '创建池',
  'Create start event': '创建开始事件', 'Create task': '创建任务', Delete: '删除',
  'Divide into three lanes': '分为三条泳道', 'Divide into two lanes': '分为两条泳道',
  General: '常规', Name: '名称', ID: '编号', Documentation: '说明', 'Element documentation': '元素说明',
  'Process documentation': '流程说明', 'Multi-instance': '多实例', Timer: '定时', Message: '消息', Signal: '信号',
  Error: '错误', Escalation: '升级', Compensation: '补偿', Link: '链接', Type: '类型', Value: '值',
  'Loop cardinality': '循环次数', 'Completion condition': '完成条件', Executable: '可执行',
  Version: '版本', 'Version tag': '版本标签',
  'Select an element to edit its properties.': '选择一个元素以编辑其属性。',
  'Multiple elements are selected. Select a single one to edit its properties.': '已选中多个元素，请只选一个进行编辑。',
  'Element must have an unique id.': '元素编号必须唯一。', 'Element must have an ID.': '元素必须有编号。',
  'ID must not contain spaces.': '编号不能包含空格。',
  'ID must be a valid QName.': '编号必须是合法的 QName。',
  'Process': '流程', 'User task': '用户任务', 'Script task': '脚本任务', 'Task': '任务', 'Lane': '泳道',
  'Sequence flow': '顺序流', 'Exclusive gateway': '排他网关', 'Parallel gateway': '并行网关',
  'Start event': '开始事件', 'End event': '结束事件', 'Call activity': '调用活动', 'Sub process': '子流程',
  'Participant': '池', 'Business rule task': '业务规则任务', 'Service task': '服务任务',
};

export default function translate(template, replacements = {}) {
  const text = lang === 'zh_CN' && ZH[template] ? ZH[template] : template;
  return text.replace(/{([^}]+)}/g, (whole, key) => (replacements[key] !== undefined ? replacements[key] : whole));
}

export const TranslateModule = { translate: ['value', translate] };
