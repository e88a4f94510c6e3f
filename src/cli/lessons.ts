import { KaizenError } from '../errors.js';
import type { Io } from './io.js';

// Placeholder: being written now.
const notYet = () => Promise.reject(new KaizenError('USAGE', 'not built yet'));
export const list = (_o: object, _io: Io) => notYet();
export const show = (_id: string, _o: object, _io: Io) => notYet();
export const add = (_f: string, _o: object, _io: Io) => notYet();
export const retire = (_id: string, _o: object, _io: Io) => notYet();
