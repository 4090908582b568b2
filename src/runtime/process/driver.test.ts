import { runDriverConformance } from '../conformance.js';
import { ProcessDriver } from './driver.js';

runDriverConformance('process', new ProcessDriver());
