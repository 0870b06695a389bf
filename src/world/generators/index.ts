// The registry: one generator per category, in DESIGN.md's order.

import type { CategoryName } from '../categories.js';
import { backgroundChange } from './background-change.js';
import { cameraPan } from './camera-pan.js';
import { cameraZoom } from './camera-zoom.js';
import { causalReasoning } from './causal-reasoning.js';
import { colorAlter } from './color-alter.js';
import { extract } from './extract.js';
import type { CategoryGenerator } from './kit.js';
import { logicalReasoning } from './logical-reasoning.js';
import { materialAlter } from './material-alter.js';
import { motionChange } from './motion-change.js';
import { multiInstruction } from './multi-instruction.js';
import { positionChange } from './position-change.js';
import { quantityChange } from './quantity-change.js';
import { spatialReasoning } from './spatial-reasoning.js';
import { styleChange } from './style-change.js';
import { subjectAdd } from './subject-add.js';
import { subjectRemove } from './subject-remove.js';
import { subjectReplace } from './subject-replace.js';
import { subjectResize } from './subject-resize.js';
import { temporalReasoning } from './temporal-reasoning.js';
import { textChange } from './text-change.js';
import { toneTransfer } from './tone-transfer.js';

export type { CategoryGenerator } from './kit.js';

export const GENERATORS: Readonly<Record<CategoryName, CategoryGenerator>> = {
  background_change: backgroundChange,
  color_alter: colorAlter,
  material_alter: materialAlter,
  motion_change: motionChange,
  subject_resize: subjectResize,
  style_change: styleChange,
  subject_add: subjectAdd,
  subject_remove: subjectRemove,
  subject_replace: subjectReplace,
  text_change: textChange,
  tone_transfer: toneTransfer,
  temporal_reasoning: temporalReasoning,
  causal_reasoning: causalReasoning,
  spatial_reasoning: spatialReasoning,
  logical_reasoning: logicalReasoning,
  multi_instruction: multiInstruction,
  quantity_change: quantityChange,
  camera_pan: cameraPan,
  camera_zoom: cameraZoom,
  position_change: positionChange,
  extract,
};
