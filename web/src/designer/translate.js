// Chinese for bpmn-js's and the properties panel's own texts (a `translate` override): the palette,
// the context pad, the "change element" menu, the panel's header (USER TASK, COLLABORATION …), its
// groups, entries and validation messages. The libraries write the same words in different cases
// ("User task", "User Task", "Sub-process", "Sub Process"), so texts are looked up case- and
// hyphen-blind, and event types are composed from their parts (定时 + 边界事件 + （非中断）).
// Strings not listed stay English; in the English UI nothing is translated.
import { lang } from '../lib/page.js';

const normal = (text) => text.toLowerCase().replace(/-/g, ' ').replace(/\s+/g, ' ').trim();

const TEXTS = {
  // tools, palette, context pad
  'Activate create/remove space tool': '插入/删除空间', 'Activate global connect tool': '连接工具',
  'Activate hand tool': '抓手工具', 'Activate lasso tool': '框选工具', 'Add lane above': '在上方添加泳道',
  'Add lane below': '在下方添加泳道', 'Add text annotation': '添加注释', 'Align elements': '对齐元素',
  'Append compensation activity': '追加补偿活动', 'Append conditional intermediate catch event': '追加条件事件',
  'Append end event': '追加结束事件', 'Append gateway': '追加网关', 'Append intermediate/boundary event': '追加中间事件',
  'Append message intermediate catch event': '追加消息事件', 'Append receive task': '追加接收任务',
  'Append signal intermediate catch event': '追加信号事件', 'Append task': '追加任务',
  'Append timer intermediate catch event': '追加定时事件', 'Change element': '更改类型', 'Change type': '更改类型',
  'Connect to other element': '连接到其他元素', 'Connect using association': '关联连接',
  'Connect using data input association': '数据输入关联', 'Create': '创建',
  'Create data object reference': '创建数据对象', 'Create data store reference': '创建数据存储',
  'Create end event': '创建结束事件', 'Create expanded sub-process': '创建子流程', 'Create gateway': '创建网关',
  'Create group': '创建分组', 'Create intermediate/boundary event': '创建中间事件', 'Create pool/participant': '创建池',
  'Create start event': '创建开始事件', 'Create task': '创建任务', 'Delete': '删除',
  'Distribute elements horizontally': '水平均匀分布', 'Distribute elements vertically': '垂直均匀分布',
  'Divide into three lanes': '分为三条泳道', 'Divide into two lanes': '分为两条泳道', 'Search in diagram': '在图中搜索',
  'Loop': '循环', 'Parallel multi-instance': '并行多实例', 'Sequential multi-instance': '串行多实例',
  'Collection': '集合', 'Participant multiplicity': '参与者多重性', 'Toggle non-interrupting': '切换非中断',
  // the properties panel: groups, entries, hints
  'General': '常规', 'Name': '名称', 'ID': '编号', 'Documentation': '说明', 'Element documentation': '元素说明',
  'Process documentation': '流程说明', 'Process name': '流程名称', 'Process ID': '流程编号',
  'Participant Name': '池名称', 'Multi-instance': '多实例', 'Timer': '定时', 'Message': '消息', 'Signal': '信号',
  'Error': '错误', 'Escalation': '升级', 'Compensation': '补偿', 'Link': '链接', 'Type': '类型', 'Value': '值',
  'Code': '代码', 'Date': '日期', 'Duration': '时长', 'Cycle': '周期', 'Completion': '完成',
  'Loop cardinality': '循环次数', 'Completion condition': '完成条件', 'Executable': '可执行',
  'Version': '版本', 'Version tag': '版本标签', 'Activity reference': '活动引用',
  'Wait for completion': '等待完成', 'Cancel remaining instances': '取消其余实例', '<none>': '<无>',
  'Create new ...': '新建…', 'Global message reference': '消息引用', 'Global signal reference': '信号引用',
  'Global error reference': '错误引用', 'Global escalation reference': '升级引用',
  'Documentation: Timer events': '说明：定时事件',
  'A specific point in time defined as ISO 8601 combined date and time representation.': '某一时刻，用 ISO 8601 日期时间表示。',
  'A time duration defined as ISO 8601 durations format.': '一段时长，用 ISO 8601 时长格式表示。',
  'A cycle defined as ISO 8601 repeating intervals format.': '一个周期，用 ISO 8601 重复间隔格式表示。',
  'Select an element to edit its properties.': '选择一个元素以编辑其属性。',
  'Multiple elements are selected. Select a single element to edit its properties.': '已选中多个元素，请只选一个进行编辑。',
  'Open documentation': '打开说明', 'Open pop-up editor': '在弹出窗口中编辑', 'Opened in editor': '已在编辑器中打开',
  'Section contains an error': '本组有错误', 'Section contains edits': '本组已修改', 'Toggle section': '展开/收起',
  'Create new list item': '添加一项', 'Delete item': '删除此项', 'Toggle list item': '展开/收起此项', '<empty>': '<空>',
  // the properties panel: validation
  'ID must be unique.': '编号必须唯一。', 'ID must not be empty.': '编号不能为空。',
  'ID must not contain prefix.': '编号不能带前缀。', 'ID must not contain spaces.': '编号不能包含空格。',
  'ID must be a valid QName.': '编号须以字母或下划线开头，只含字母、数字、下划线、连字符和点。',
  'Element must have an unique id.': '元素编号必须唯一。', 'Element must have an ID.': '元素必须有编号。',
  // element types (the panel's header, the "change element" menu)
  'Collaboration': '协作', 'Participant': '池', 'Empty pool/participant': '空池', 'Expanded pool/participant': '展开的池',
  'Lane': '泳道', 'Process': '流程', 'Task': '任务', 'User task': '用户任务', 'Script task': '脚本任务',
  'Service task': '服务任务', 'Business rule task': '业务规则任务', 'Send task': '发送任务', 'Receive task': '接收任务',
  'Manual task': '人工任务', 'Call activity': '调用活动', 'Sub process': '子流程', 'Expanded sub process': '子流程（展开）',
  'Collapsed sub process': '子流程（折叠）', 'Sub process (expanded)': '子流程（展开）', 'Sub process (collapsed)': '子流程（折叠）',
  'Event sub process': '事件子流程', 'Ad hoc sub process': '自由子流程', 'Ad hoc sub process (expanded)': '自由子流程（展开）',
  'Ad hoc sub process (collapsed)': '自由子流程（折叠）', 'Expanded ad hoc sub process': '自由子流程（展开）',
  'Collapsed ad hoc sub process': '自由子流程（折叠）', 'Transaction': '事务',
  'Exclusive gateway': '排他网关', 'Parallel gateway': '并行网关', 'Inclusive gateway': '包容网关',
  'Complex gateway': '复杂网关', 'Event based gateway': '事件网关', 'Event based instantiating Gateway': '事件启动网关',
  'Parallel Event based instantiating Gateway': '并行事件启动网关', 'Gateway': '网关',
  'Sequence flow': '顺序流', 'Default flow': '默认流', 'Conditional flow': '条件流', 'Message flow': '消息流',
  'Association': '关联', 'Data object reference': '数据对象', 'Data store reference': '数据存储',
  'Data input association': '数据输入关联', 'Data output association': '数据输出关联',
  'Text annotation': '注释', 'Group': '分组', 'Label': '标签', 'Root': '根',
};
const BY_NORMAL = Object.fromEntries(Object.entries(TEXTS).map(([en, zh]) => [normal(en), zh]));

const EVENT_KINDS = { 'start event': '开始事件', 'end event': '结束事件', 'boundary event': '边界事件',
  'intermediate catch event': '中间捕获事件', 'intermediate throw event': '中间抛出事件', 'intermediate event': '中间事件' };
const EVENT_PREFIXES = { '': '', timer: '定时', message: '消息', signal: '信号', error: '错误', escalation: '升级',
  compensation: '补偿', conditional: '条件', link: '链接', cancel: '取消', terminate: '终止', multiple: '多重',
  'parallel multiple': '并行多重' };

/** "Timer Boundary Event (Non Interrupting)" → 定时边界事件（非中断）. */
function eventType(text) {
  const match = /^((?:[a-z]+ )*?)((?:start|end|boundary|intermediate catch|intermediate throw|intermediate) event)( \(non interrupting\))?$/
    .exec(text);
  if (!match) return null;
  const prefix = EVENT_PREFIXES[match[1].trim()];
  return prefix === undefined ? null : `${prefix}${EVENT_KINDS[match[2]]}${match[3] ? '（非中断）' : ''}`;
}

export function chinese(template) {
  const key = normal(template);
  return TEXTS[template] || BY_NORMAL[key] || eventType(key) || null;
}

export default function translate(template, replacements = {}) {
  const text = (lang === 'zh_CN' && chinese(template)) || template;
  return text.replace(/{([^}]+)}/g, (whole, key) => (replacements[key] !== undefined ? replacements[key] : whole));
}

export const TranslateModule = { translate: ['value', translate] };
